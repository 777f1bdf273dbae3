// Apache Curator 5 recipes against one server, printing a transcript as ClientDriver does (same
// grammar: "== section", steps, "!! failure"). Compiled and run by test/integration/java-client.test.ts
// against tszk and the reference server; the two transcripts must match after normalisation.
//
//   java -cp <classes>:curator-recipes.jar:curator-framework.jar:curator-client.jar:zookeeper.jar CuratorDriver HOST:PORT
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryOneTime;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

public final class CuratorDriver {
  private static final long STEP_TIMEOUT_MS = 15_000;

  private CuratorDriver() {}

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

  private static String owner(long id, CuratorFramework... clients) throws Exception {
    if (id == 0) return "0";
    for (int i = 0; i < clients.length; i++) {
      if (clients[i].getZookeeperClient().getZooKeeper().getSessionId() == id) return "client" + (i + 1);
    }
    return "0x" + Long.toHexString(id);
  }

  private static String stat(Stat s) {
    if (s == null) return "null";
    return "{czxid=0x" + Long.toHexString(s.getCzxid()) + " mzxid=0x" + Long.toHexString(s.getMzxid()) + " pzxid=0x"
        + Long.toHexString(s.getPzxid()) + " ctime=" + s.getCtime() + " mtime=" + s.getMtime() + " version=" + s.getVersion()
        + " cversion=" + s.getCversion() + " aversion=" + s.getAversion() + " dataLength=" + s.getDataLength()
        + " numChildren=" + s.getNumChildren() + "}";
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

  private static CuratorFramework connect(String connectString) throws InterruptedException {
    CuratorFramework client = CuratorFrameworkFactory.newClient(connectString, 30_000, 15_000, new RetryOneTime(200));
    client.start();
    if (!client.blockUntilConnected((int) STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS)) throw new IllegalStateException("no connection");
    return client;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: CuratorDriver HOST:PORT");
      System.exit(2);
    }
    out("== connect");
    CuratorFramework one = connect(args[0]);
    CuratorFramework two = connect(args[0]);
    out("two clients connected");

    section("creatingParentContainersIfNeeded", () -> {
      out("create -> " + one.create().creatingParentContainersIfNeeded().forPath("/cur/a/b/c", bytes("leaf")));
      for (String path : new String[] {"/cur", "/cur/a", "/cur/a/b"}) {
        Stat s = one.checkExists().forPath(path);
        out("parent " + path + " owner=" + owner(s.getEphemeralOwner(), one, two) + " " + stat(s));
      }
      Stat leaf = new Stat();
      out("leaf " + text(one.getData().storingStatIn(leaf).forPath("/cur/a/b/c")) + " owner=" + owner(leaf.getEphemeralOwner(), one, two));
      out("create ephemeral with parents -> "
          + one.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath("/cur/p/q/eph", bytes("e")));
      Stat eph = one.checkExists().forPath("/cur/p/q/eph");
      out("ephemeral owner=" + owner(eph.getEphemeralOwner(), one, two) + ", parent /cur/p owner="
          + owner(one.checkExists().forPath("/cur/p").getEphemeralOwner(), one, two));
      out("create protected ephemeral sequential -> name has the guid prefix "
          + one.create().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath("/cur/p/prot-").matches("/cur/p/_c_[0-9a-f-]{36}-prot-\\d{10}"));
      try {
        one.create().forPath("/cur/a/b/c");
      } catch (KeeperException e) {
        out("create again -> " + e.code());
      }
      one.delete().deletingChildrenIfNeeded().forPath("/cur/p");
      out("deletingChildrenIfNeeded -> " + stat(one.checkExists().forPath("/cur/p")));
      // Containers show ephemeralOwner 0 to clients; what tells them apart is that they are reaped
      // once emptied, parent after parent (the server checks every 500 ms here).
      one.create().creatingParentContainersIfNeeded().forPath("/cur-ctr/x/y");
      one.delete().forPath("/cur-ctr/x/y");
      long deadline = System.currentTimeMillis() + STEP_TIMEOUT_MS;
      while (one.checkExists().forPath("/cur-ctr") != null && System.currentTimeMillis() < deadline) Thread.sleep(100);
      out("containers made by creatingParentContainersIfNeeded are reaped once empty: /cur-ctr "
          + (one.checkExists().forPath("/cur-ctr") == null ? "gone" : "still there"));
    });

    section("lock", () -> {
      InterProcessMutex first = new InterProcessMutex(one, "/cur/lock");
      InterProcessMutex second = new InterProcessMutex(two, "/cur/lock");
      out("lock: first client acquires: " + first.acquire(STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS));
      out("lock: second client acquires while held: " + second.acquire(300, TimeUnit.MILLISECONDS));
      List<String> contenders = new ArrayList<>(first.getParticipantNodes());
      out("lock: participants " + contenders.size());
      first.release();
      out("lock: second client acquires after release: " + second.acquire(STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS));
      second.release();
      out("lock: children left " + one.getChildren().forPath("/cur/lock").size());
    });

    section("CuratorCache", () -> {
      one.create().forPath("/cur/cache", bytes("root"));
      BlockingQueue<String> events = new LinkedBlockingQueue<>();
      CuratorCacheListener listener = CuratorCacheListener.builder()
          .forCreates((ChildData node) -> events.add("created " + node.getPath() + " " + text(node.getData())))
          .forChanges((ChildData before, ChildData after) ->
              events.add("changed " + after.getPath() + " " + text(before.getData()) + " -> " + text(after.getData())))
          .forDeletes((ChildData node) -> events.add("deleted " + node.getPath()))
          .forInitialized(() -> events.add("initialized"))
          .build();
      try (CuratorCache cache = CuratorCache.build(one, "/cur/cache")) {
        cache.listenable().addListener(listener);
        cache.start();
        printEvents(events, 2);
        // One change at a time, each awaited, so what the cache fetches is what the change wrote.
        two.create().forPath("/cur/cache/x", bytes("1"));
        printEvents(events, 1);
        two.setData().forPath("/cur/cache/x", bytes("2"));
        printEvents(events, 1);
        two.create().forPath("/cur/cache/x/y", bytes("deep"));
        printEvents(events, 1);
        two.delete().forPath("/cur/cache/x/y");
        printEvents(events, 1);
        two.delete().forPath("/cur/cache/x");
        printEvents(events, 1);
        List<String> cached = new ArrayList<>();
        cache.stream().forEach((ChildData node) -> cached.add(node.getPath()));
        Collections.sort(cached);
        out("cache holds " + cached);
      }
    });

    section("transaction", () -> {
      List<CuratorTransactionResult> results = one.transaction().forOperations(
          one.transactionOp().create().forPath("/cur/t", bytes("t0")),
          one.transactionOp().create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/cur/t/s-", bytes("s")),
          one.transactionOp().setData().forPath("/cur/t", bytes("t1")),
          one.transactionOp().check().withVersion(1).forPath("/cur/t"));
      for (CuratorTransactionResult r : results) {
        out("result " + r.getType() + " " + r.getForPath() + " -> " + r.getResultPath() + " error " + r.getError()
            + (r.getResultStat() == null ? "" : " " + stat(r.getResultStat())));
      }
      try {
        one.transaction().forOperations(
            one.transactionOp().delete().forPath("/cur/t"),
            one.transactionOp().create().forPath("/cur/t2"));
      } catch (KeeperException e) {
        out("failing transaction -> " + e.code());
        for (org.apache.zookeeper.OpResult r : e.getResults()) {
          out("failed op " + (r instanceof org.apache.zookeeper.OpResult.ErrorResult ? ((org.apache.zookeeper.OpResult.ErrorResult) r).getErr() : r.getType()));
        }
      }
      out("after: /cur/t2 " + stat(one.checkExists().forPath("/cur/t2")));
    });

    section("close", () -> {
      two.close();
      one.delete().deletingChildrenIfNeeded().forPath("/cur");
      out("cleaned up: " + stat(one.checkExists().forPath("/cur")));
      one.close();
    });
    out("== done");
  }

  private static void printEvents(BlockingQueue<String> events, int count) throws InterruptedException {
    for (int i = 0; i < count; i++) {
      String event = events.poll(STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
      if (event == null) throw new IllegalStateException("no cache event within " + STEP_TIMEOUT_MS + " ms");
      out("cache " + event);
    }
  }
}
