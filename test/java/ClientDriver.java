// Drives the ZooKeeper 3.8 Java client through one fixed scenario and prints a line-oriented
// transcript on stdout. test/integration/java-client.test.ts runs it against tszk and against the
// reference server and compares the two transcripts after normalising zxids and times.
//
//   java -cp <classes>:zookeeper.jar ClientDriver HOST:PORT
//
// The server must run with extendedTypesEnabled=true and znode.container.checkIntervalMs small
// (the scenario waits for containers and TTL nodes to be reaped). Transcript grammar:
//
//   line     = section | step | failure
//   section  = "== " name
//   step     = free text; a Stat prints as "{czxid=0x.. mzxid=0x.. pzxid=0x.. ctime=MS mtime=MS
//              version=N cversion=N aversion=N owner=OWNER dataLength=N numChildren=N}"; OWNER is
//              0 or the name of the session (A, B, C); containers and TTL nodes show 0 to clients
//   failure  = "!! " text   (an unexpected exception: the section stops, the next one runs)
//
// Session ids never appear raw: they print as the name of the client that owns them.
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Stat;

public final class ClientDriver {
  private static final long STEP_TIMEOUT_MS = 15_000;
  private static final List<ACL> OPEN = ZooDefs.Ids.OPEN_ACL_UNSAFE;
  private static final Map<Long, String> SESSION_NAMES = new HashMap<>();

  private ClientDriver() {}

  private static void out(String line) {
    System.out.println(line);
    System.out.flush();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] data) {
    return data == null ? "null" : "'" + new String(data, StandardCharsets.UTF_8) + "'";
  }

  private static String owner(long id) {
    if (id == 0) return "0";
    String name = SESSION_NAMES.get(id);
    return name != null ? name : "0x" + Long.toHexString(id);
  }

  private static String stat(Stat s) {
    if (s == null) return "null";
    return "{czxid=0x" + Long.toHexString(s.getCzxid())
        + " mzxid=0x" + Long.toHexString(s.getMzxid())
        + " pzxid=0x" + Long.toHexString(s.getPzxid())
        + " ctime=" + s.getCtime()
        + " mtime=" + s.getMtime()
        + " version=" + s.getVersion()
        + " cversion=" + s.getCversion()
        + " aversion=" + s.getAversion()
        + " owner=" + owner(s.getEphemeralOwner())
        + " dataLength=" + s.getDataLength()
        + " numChildren=" + s.getNumChildren() + "}";
  }

  private static String error(KeeperException e) {
    return "error " + e.code() + " (" + e.code().intValue() + ")" + (e.getPath() == null ? "" : " path=" + e.getPath());
  }

  private static String sorted(List<String> items) {
    List<String> copy = new ArrayList<>(items);
    Collections.sort(copy);
    return copy.toString();
  }

  private static String result(OpResult r) {
    if (r instanceof OpResult.CreateResult) {
      OpResult.CreateResult c = (OpResult.CreateResult) r;
      return "CreateResult " + c.getPath() + (c.getStat() == null ? "" : " " + stat(c.getStat()));
    }
    if (r instanceof OpResult.SetDataResult) return "SetDataResult " + stat(((OpResult.SetDataResult) r).getStat());
    if (r instanceof OpResult.DeleteResult) return "DeleteResult";
    if (r instanceof OpResult.CheckResult) return "CheckResult";
    if (r instanceof OpResult.ErrorResult) {
      int err = ((OpResult.ErrorResult) r).getErr();
      return "ErrorResult " + KeeperException.Code.get(err) + " (" + err + ")";
    }
    if (r instanceof OpResult.GetDataResult) {
      OpResult.GetDataResult g = (OpResult.GetDataResult) r;
      return "GetDataResult " + text(g.getData()) + " " + stat(g.getStat());
    }
    if (r instanceof OpResult.GetChildrenResult) return "GetChildrenResult " + sorted(((OpResult.GetChildrenResult) r).getChildren());
    return "unknown result " + r.getClass().getName() + " type " + r.getType();
  }

  /** A watcher that queues what it sees; the scenario takes events out one at a time. */
  private static final class Events implements Watcher {
    private final String name;
    private final BlockingQueue<WatchedEvent> queue = new LinkedBlockingQueue<>();

    Events(String name) {
      this.name = name;
    }

    @Override
    public void process(WatchedEvent event) {
      queue.add(event);
    }

    WatchedEvent next() throws InterruptedException {
      WatchedEvent event = queue.poll(STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      if (event == null) throw new IllegalStateException("no event for watcher " + name + " within " + STEP_TIMEOUT_MS + " ms");
      return event;
    }

    /** Prints the next `count` node events. Connection-state events (type None), which the Java
     * client hands to every watcher it holds, are skipped. */
    void print(int count) throws InterruptedException {
      for (int i = 0; i < count; ) {
        WatchedEvent e = next();
        if (e.getType() == Event.EventType.None) continue;
        out(name + " event " + e.getType() + " " + e.getPath() + " " + e.getState());
        i++;
      }
    }

    /** Skips connection-state events until this state arrives. */
    void awaitState(Event.KeeperState state) throws InterruptedException {
      for (;;) {
        WatchedEvent e = next();
        if (e.getType() == Event.EventType.None && e.getState() == state) return;
      }
    }

    /** Prints the node events queued right now (after a barrier, nothing else can be on its way). */
    void printQueued() {
      for (WatchedEvent e; (e = queue.poll()) != null; ) {
        if (e.getType() != Event.EventType.None) out(name + " unexpected event " + e.getType() + " " + e.getPath() + " " + e.getState());
      }
    }
  }

  private static ZooKeeper connect(String name, String connectString, Events events) throws Exception {
    ZooKeeper zk = new ZooKeeper(connectString, 30_000, events);
    events.awaitState(Watcher.Event.KeeperState.SyncConnected);
    SESSION_NAMES.put(zk.getSessionId(), name);
    out(name + " connected, timeout " + zk.getSessionTimeout() + " ms, session id nonzero " + (zk.getSessionId() != 0));
    return zk;
  }

  /** Every event sent to `events` before this returns has arrived: a data watch set, fired, awaited. */
  private static int barriers = 0;

  private static void barrier(ZooKeeper watcherSide, ZooKeeper writerSide, Events others) throws Exception {
    barriers++;
    String path = "/barrier-" + barriers;
    writerSide.create(path, bytes("b"), OPEN, CreateMode.PERSISTENT);
    Events b = new Events("barrier");
    watcherSide.getData(path, b, null);
    writerSide.setData(path, bytes("c"), -1);
    WatchedEvent e = b.next();
    if (e.getType() != Watcher.Event.EventType.NodeDataChanged) throw new IllegalStateException("barrier saw " + e);
    writerSide.delete(path, -1);
    others.printQueued();
  }

  private static Stat waitGone(ZooKeeper zk, String path) throws Exception {
    long deadline = System.currentTimeMillis() + STEP_TIMEOUT_MS;
    for (;;) {
      Stat s = zk.exists(path, false);
      if (s == null || System.currentTimeMillis() > deadline) return s;
      Thread.sleep(100);
    }
  }

  /** A TCP relay whose connections the scenario can cut, to make the client reconnect. */
  private static final class Proxy implements Closeable {
    private final ServerSocket listener;
    private final String targetHost;
    private final int targetPort;
    private final List<Socket> sockets = Collections.synchronizedList(new ArrayList<>());
    private volatile boolean refusing = false;

    Proxy(String targetHost, int targetPort) throws IOException {
      this.targetHost = targetHost;
      this.targetPort = targetPort;
      listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread acceptor = new Thread(this::acceptLoop, "proxy-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return listener.getLocalPort();
    }

    private void acceptLoop() {
      while (!listener.isClosed()) {
        try {
          Socket client = listener.accept();
          if (refusing) {
            client.close();
            continue;
          }
          Socket upstream = new Socket(targetHost, targetPort);
          sockets.add(client);
          sockets.add(upstream);
          pump(client, upstream);
          pump(upstream, client);
        } catch (IOException e) {
          // listener closed, or the server refused: the client will retry
        }
      }
    }

    private void pump(Socket from, Socket to) {
      Thread t = new Thread(() -> {
        byte[] buffer = new byte[8192];
        try (InputStream in = from.getInputStream(); OutputStream o = to.getOutputStream()) {
          for (int n; (n = in.read(buffer)) >= 0; ) o.write(buffer, 0, n);
        } catch (IOException e) {
          // cut
        } finally {
          closeQuietly(from);
          closeQuietly(to);
        }
      }, "proxy-pump");
      t.setDaemon(true);
      t.start();
    }

    /** Cuts every relayed connection and refuses new ones until allow(). */
    void cut() {
      refusing = true;
      synchronized (sockets) {
        for (Socket s : sockets) closeQuietly(s);
        sockets.clear();
      }
    }

    void allow() {
      refusing = false;
    }

    @Override
    public void close() {
      cut();
      closeQuietly(listener);
    }

    private static void closeQuietly(Closeable c) {
      try {
        c.close();
      } catch (IOException e) {
        // already closed
      }
    }
  }

  private interface Section {
    void run() throws Exception;
  }

  private static void section(String name, Section body) {
    out("== " + name);
    try {
      body.run();
    } catch (Exception | AssertionError e) {
      out("!! " + name + ": " + e);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: ClientDriver HOST:PORT");
      System.exit(2);
    }
    String connectString = args[0];
    String host = connectString.substring(0, connectString.lastIndexOf(':'));
    int port = Integer.parseInt(connectString.substring(connectString.lastIndexOf(':') + 1));

    out("== connect");
    Events aEvents = new Events("A");
    Events bEvents = new Events("B");
    ZooKeeper a = connect("A", connectString, aEvents);
    ZooKeeper b = connect("B", connectString, bEvents);

    section("create2 in every mode", () -> {
      Stat parent = new Stat();
      out("create /cm -> " + a.create("/cm", bytes("modes"), OPEN, CreateMode.PERSISTENT, parent) + " " + stat(parent));
      for (CreateMode mode : CreateMode.values()) {
        String path = "/cm/" + mode.name().toLowerCase() + (mode.isSequential() ? "-" : "");
        Stat s = new Stat();
        long ttl = mode.isTTL() ? 60_000 : -1;
        String created = a.create(path, bytes(mode.name()), OPEN, mode, s, ttl);
        out("create " + mode + " -> " + created + " " + stat(s));
      }
      Stat after = new Stat();
      out("children of /cm " + sorted(a.getChildren("/cm", false, after)) + " " + stat(after));
      out("getAllChildrenNumber /cm = " + a.getAllChildrenNumber("/cm"));
      try {
        a.create("/cm/persistent", bytes("again"), OPEN, CreateMode.PERSISTENT, new Stat());
      } catch (KeeperException e) {
        out("create existing -> " + error(e));
      }
      try {
        a.create("/cm/ephemeral/child", bytes("x"), OPEN, CreateMode.PERSISTENT);
      } catch (KeeperException e) {
        out("create under an ephemeral -> " + error(e));
      }
      try {
        a.create("/cm/missing/child", bytes("x"), OPEN, CreateMode.PERSISTENT);
      } catch (KeeperException e) {
        out("create without a parent -> " + error(e));
      }
      Stat child = new Stat();
      out("create under a container -> " + a.create("/cm/container/kid", bytes("k"), OPEN, CreateMode.PERSISTENT, child) + " " + stat(child));
      out("create under a TTL node -> " + a.create("/cm/persistent_with_ttl/kid", bytes("k"), OPEN, CreateMode.PERSISTENT));
      out("create sequential again -> " + a.create("/cm/seq-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
      out("getAllChildrenNumber /cm = " + a.getAllChildrenNumber("/cm"));
      out("getAllChildrenNumber /cm/container = " + a.getAllChildrenNumber("/cm/container"));
    });

    section("getData, exists and getChildren watches", () -> {
      a.create("/gd", bytes("v1"), OPEN, CreateMode.PERSISTENT);
      Events data = new Events("data");
      Stat s = new Stat();
      out("getData /gd watch -> " + text(a.getData("/gd", data, s)) + " " + stat(s));
      out("B setData /gd v2 version 0 -> " + stat(b.setData("/gd", bytes("v2"), 0)));
      data.print(1);
      try {
        b.setData("/gd", bytes("v3"), 0);
      } catch (KeeperException e) {
        out("B setData stale version -> " + error(e));
      }
      Events created = new Events("created");
      out("exists /gd/new watch -> " + stat(a.exists("/gd/new", created)));
      Events children = new Events("children");
      out("getChildren /gd watch -> " + a.getChildren("/gd", children));
      b.create("/gd/new", null, OPEN, CreateMode.PERSISTENT);
      created.print(1);
      children.print(1);
      Events deleted = new Events("deleted");
      out("getData /gd/new watch -> " + text(a.getData("/gd/new", deleted, null)));
      Events existing = new Events("existing");
      out("exists /gd watch -> version " + a.exists("/gd", existing).getVersion());
      b.delete("/gd/new", 0);
      deleted.print(1);
      b.setData("/gd", bytes("v4"), -1);
      existing.print(1);
      barrier(a, b, data);
      created.printQueued();
      children.printQueued();
      deleted.printQueued();
      existing.printQueued();
      try {
        a.getData("/gd/missing", false, null);
      } catch (KeeperException e) {
        out("getData missing -> " + error(e));
      }
      try {
        a.delete("/gd", 5);
      } catch (KeeperException e) {
        out("delete wrong version -> " + error(e));
      }
    });

    section("multi", () -> {
      List<OpResult> ok = a.multi(Arrays.asList(
          Op.create("/mt", bytes("m"), OPEN, CreateMode.PERSISTENT),
          Op.create("/mt/a", bytes("a"), OPEN, CreateMode.PERSISTENT),
          Op.create("/mt/s-", bytes("s"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
          Op.setData("/mt", bytes("m2"), 0),
          Op.check("/mt", 1),
          Op.delete("/mt/a", 0)));
      for (OpResult r : ok) out("ok: " + result(r));
      try {
        a.multi(Arrays.asList(
            Op.create("/mt/b", bytes("b"), OPEN, CreateMode.PERSISTENT),
            Op.setData("/mt", bytes("no"), 99),
            Op.create("/mt/c", bytes("c"), OPEN, CreateMode.PERSISTENT)));
        out("failing multi succeeded");
      } catch (KeeperException e) {
        out("failing multi -> " + error(e));
        for (OpResult r : e.getResults()) out("failed: " + result(r));
      }
      try {
        a.multi(Arrays.asList(Op.check("/mt", 1), Op.delete("/mt", -1)));
      } catch (KeeperException e) {
        out("delete non-empty in multi -> " + error(e));
        for (OpResult r : e.getResults()) out("failed: " + result(r));
      }
      out("after: /mt/b " + stat(a.exists("/mt/b", false)) + ", /mt/c " + stat(a.exists("/mt/c", false)));
      for (OpResult r : a.multi(Arrays.asList(Op.getData("/mt"), Op.getChildren("/mt"), Op.getData("/mt/missing"), Op.getChildren("/")))) {
        out("read: " + result(r));
      }
      for (OpResult r : a.multi(Collections.<Op>emptyList())) out("empty multi gave " + result(r));
      out("empty multi done");
    });

    section("ephemerals", () -> {
      a.create("/eph", null, OPEN, CreateMode.PERSISTENT);
      a.create("/eph/x", null, OPEN, CreateMode.EPHEMERAL);
      a.create("/eph/y-", null, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL);
      a.create("/eph-other", null, OPEN, CreateMode.EPHEMERAL);
      b.create("/eph/b", null, OPEN, CreateMode.EPHEMERAL);
      out("A getEphemerals() " + sorted(a.getEphemerals()));
      out("A getEphemerals(/eph) " + sorted(a.getEphemerals("/eph")));
      out("A getEphemerals(/nothing) " + sorted(a.getEphemerals("/nothing")));
      out("B getEphemerals() " + sorted(b.getEphemerals()));
      out("getAllChildrenNumber /eph = " + a.getAllChildrenNumber("/eph"));
      out("stat /eph/b " + stat(a.exists("/eph/b", false)));
    });

    section("persistent and persistent-recursive watches", () -> {
      Events rec = new Events("recursive");
      a.addWatch("/rec", rec, AddWatchMode.PERSISTENT_RECURSIVE);
      b.create("/rec", null, OPEN, CreateMode.PERSISTENT);
      b.create("/rec/a", null, OPEN, CreateMode.PERSISTENT);
      b.create("/rec/a/b", bytes("1"), OPEN, CreateMode.PERSISTENT);
      b.setData("/rec/a/b", bytes("2"), -1);
      b.delete("/rec/a/b", -1);
      b.delete("/rec/a", -1);
      b.setData("/rec", bytes("r"), -1);
      rec.print(7);
      Events per = new Events("persistent");
      a.addWatch("/per", per, AddWatchMode.PERSISTENT);
      b.create("/per", null, OPEN, CreateMode.PERSISTENT);
      b.create("/per/c", null, OPEN, CreateMode.PERSISTENT);
      b.create("/per/c/deeper", null, OPEN, CreateMode.PERSISTENT);
      b.setData("/per", bytes("p"), -1);
      b.setData("/per/c", bytes("not seen"), -1);
      b.delete("/per/c/deeper", -1);
      b.delete("/per/c", -1);
      per.print(4);
      barrier(a, b, per);
      rec.printQueued();
      a.removeWatches("/per", per, Watcher.WatcherType.Any, false);
      per.print(1);
      a.removeAllWatches("/rec", Watcher.WatcherType.Any, false);
      rec.print(1);
      b.create("/rec/after", null, OPEN, CreateMode.PERSISTENT);
      b.setData("/per", bytes("q"), -1);
      barrier(a, b, rec);
      per.printQueued();
      out("removed persistent watches stay quiet");
    });

    section("removeWatches", () -> {
      a.create("/rw", bytes("r"), OPEN, CreateMode.PERSISTENT);
      Events dataW = new Events("dataW");
      Events childW = new Events("childW");
      a.getData("/rw", dataW, null);
      a.getChildren("/rw", childW);
      a.removeWatches("/rw", dataW, Watcher.WatcherType.Data, false);
      dataW.print(1);
      try {
        a.removeWatches("/rw", dataW, Watcher.WatcherType.Data, false);
      } catch (KeeperException e) {
        out("remove again -> " + error(e));
      }
      try {
        a.removeWatches("/rw", childW, Watcher.WatcherType.Data, false);
      } catch (KeeperException e) {
        out("remove with the wrong type -> " + error(e));
      }
      a.removeAllWatches("/rw", Watcher.WatcherType.Children, false);
      childW.print(1);
      b.setData("/rw", bytes("s"), -1);
      b.create("/rw/kid", null, OPEN, CreateMode.PERSISTENT);
      barrier(a, b, dataW);
      childW.printQueued();
      out("removed watches stay quiet");
    });

    section("whoAmI and digest ACLs", () -> {
      List<String> before = new ArrayList<>();
      for (ClientInfo info : a.whoAmI()) before.add(info.getAuthScheme() + ":" + info.getUser());
      out("A whoAmI " + sorted(before));
      a.addAuthInfo("digest", bytes("user1:pass1"));
      List<String> after = new ArrayList<>();
      for (ClientInfo info : a.whoAmI()) after.add(info.getAuthScheme() + ":" + info.getUser());
      out("A whoAmI after addAuthInfo " + sorted(after));
      a.create("/acl", bytes("secret"), ZooDefs.Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
      Stat s = new Stat();
      for (ACL acl : a.getACL("/acl", s)) out("acl " + acl.getPerms() + " " + acl.getId().getScheme() + ":" + acl.getId().getId());
      out("acl stat " + stat(s));
      try {
        b.getData("/acl", false, null);
      } catch (KeeperException e) {
        out("B getData -> " + error(e));
      }
      out("A getData -> " + text(a.getData("/acl", false, null)));
    });

    section("sync", () -> {
      for (String path : new String[] {"/", "/gd", "/sync-missing"}) {
        CountDownLatch done = new CountDownLatch(1);
        String[] seen = new String[1];
        a.sync(path, (rc, p, ctx) -> {
          seen[0] = "rc=" + KeeperException.Code.get(rc) + " path=" + p;
          done.countDown();
        }, null);
        if (!done.await(STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) throw new IllegalStateException("sync " + path + " never answered");
        out("sync " + path + " -> " + seen[0]);
      }
    });

    section("containers and TTL nodes are reaped", () -> {
      a.create("/ctr", null, OPEN, CreateMode.CONTAINER);
      a.create("/ctr/kid", null, OPEN, CreateMode.PERSISTENT);
      a.create("/ctr-never-used", null, OPEN, CreateMode.CONTAINER);
      a.create("/ttl-short", null, OPEN, CreateMode.PERSISTENT_WITH_TTL, new Stat(), 500);
      a.create("/ttl-parent", null, OPEN, CreateMode.PERSISTENT_WITH_TTL, new Stat(), 500);
      a.create("/ttl-parent/kid", null, OPEN, CreateMode.PERSISTENT);
      a.delete("/ctr/kid", -1);
      out("container emptied: /ctr " + (waitGone(a, "/ctr") == null ? "reaped" : "still there"));
      out("ttl 500 ms: /ttl-short " + (waitGone(a, "/ttl-short") == null ? "reaped" : "still there"));
      // Never reaped, however long one waits: a container that never had a child, a TTL node with one.
      out("container that never had a child: " + (a.exists("/ctr-never-used", false) == null ? "reaped" : "kept"));
      out("ttl node with a child: " + (a.exists("/ttl-parent", false) == null ? "reaped" : "kept"));
    });

    section("reconnect keeps the session", () -> {
      b.create("/rc", null, OPEN, CreateMode.PERSISTENT);
      b.create("/rc/w", bytes("w1"), OPEN, CreateMode.PERSISTENT);
      try (Proxy proxy = new Proxy(host, port)) {
        Events cEvents = new Events("C");
        ZooKeeper c = connect("C", "127.0.0.1:" + proxy.port(), cEvents);
        long sessionId = c.getSessionId();
        c.create("/rc/eph", bytes("e"), OPEN, CreateMode.EPHEMERAL);
        Events data = new Events("rc-data");
        c.getData("/rc/w", data, null);
        Events exists = new Events("rc-exists");
        c.exists("/rc/new", exists);
        Events child = new Events("rc-child");
        c.getChildren("/rc", child);
        proxy.cut();
        cEvents.awaitState(Watcher.Event.KeeperState.Disconnected);
        out("C disconnected");
        // While C is away: a change to each watched node.
        b.setData("/rc/w", bytes("w2"), -1);
        b.create("/rc/new", null, OPEN, CreateMode.PERSISTENT);
        proxy.allow();
        cEvents.awaitState(Watcher.Event.KeeperState.SyncConnected);
        out("C reconnected, same session " + (c.getSessionId() == sessionId));
        // SetWatches on reconnect: the server fires what changed since C's last zxid.
        data.print(1);
        exists.print(1);
        child.print(1);
        out("C sees /rc/eph " + stat(c.exists("/rc/eph", false)));
        out("C reads /rc/w " + text(c.getData("/rc/w", false, null)));
        c.close();
        out("after C closed: /rc/eph " + stat(b.exists("/rc/eph", false)));
      }
    });

    section("close", () -> {
      a.close();
      out("after A closed: " + sorted(b.getChildren("/eph", false)) + ", /eph-other " + stat(b.exists("/eph-other", false)));
      b.close();
    });
    out("== done");
  }
}
