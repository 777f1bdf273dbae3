// globalOutstandingLimit: past that many requests in the pipeline, connections with requests in
// flight stop reading until it drains. Nothing is lost or reordered, and nobody starves.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RawClient } from '../support/raw-client.js';
import { describeEachTarget, type TestServer } from '../support/zk-server.js';

const CLIENTS = 4;
const REQUESTS = 200;

describeEachTarget('a pipeline over globalOutstandingLimit', (target) => {
  let server: TestServer | undefined;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    server = await target.start({ extraConfig: { globalOutstandingLimit: '4' } });
    for (let i = 0; i < CLIENTS; i++) clients.push(await RawClient.connect({ host: server.host, port: server.clientPort }));
    expect((await clients[0]!.create('/throttle', 'x')).err).toBe(0);
  });

  afterAll(async () => {
    for (const client of clients) await client.closeQuietly();
    await server?.stop();
  });

  it('answers every pipelined request of every connection, each connection in order', async () => {
    const replies = await Promise.all(
      clients.map(async (client, c) => {
        const sent = [];
        for (let i = 0; i < REQUESTS; i++) {
          sent.push(i % 2 === 0 ? client.setData('/throttle', `${c}:${i}`) : client.getData('/throttle'));
        }
        return Promise.all(sent);
      }),
    );
    for (const perClient of replies) {
      expect(perClient.every((reply) => reply.err === 0)).toBe(true);
      // Replies carry increasing zxids on each connection: its requests ran in order.
      const zxids = perClient.map((reply) => reply.zxid);
      expect(zxids).toEqual([...zxids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    const final = await clients[0]!.getData('/throttle');
    expect(final.response?.stat.version).toBe((CLIENTS * REQUESTS) / 2);
  });
});
