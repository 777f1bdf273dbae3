/**
 * The configuration text a 3.8 server puts in every notification it sends: its QuorumVerifier
 * printed as `server.<sid>=<host>:<quorumPort>:<electionPort>:<type>[;<clientHost>:<clientPort>]`
 * lines, then `version=<hex>`, joined by "\n" with no final newline. Captured from 3.8.0:
 *
 *   server.1=127.0.0.1:43343:46605:participant
 *   server.2=127.0.0.1:42547:43513:participant
 *   server.3=127.0.0.1:39605:43129:participant
 *   version=0
 *
 * A receiver parses it and, while LOOKING, adopts it as a reconfiguration when its version is
 * higher than its own; so a peer must send its real config version (0 without dynamic
 * reconfiguration) and never a higher one by accident.
 */

export interface QuorumServerText {
  sid: bigint;
  host: string;
  quorumPort: number;
  electionPort: number;
  type: 'participant' | 'observer';
  /** Only when the server line itself names a client address (`;host:port`). */
  clientAddress?: { host: string; port: number };
}

function hostText(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function quorumConfigText(servers: readonly QuorumServerText[], version = 0n): string {
  // 3.8 prints its HashMap<Long, QuorumServer> in iteration order, which is ascending for the small
  // sids ensembles use.
  const sorted = [...servers].sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
  const lines = sorted.map((s) => {
    const client = s.clientAddress ? `;${hostText(s.clientAddress.host)}:${s.clientAddress.port}` : '';
    return `server.${s.sid}=${hostText(s.host)}:${s.quorumPort}:${s.electionPort}:${s.type}${client}`;
  });
  lines.push(`version=${version.toString(16)}`);
  return lines.join('\n');
}

export function quorumConfigBytes(servers: readonly QuorumServerText[], version = 0n): Buffer {
  return Buffer.from(quorumConfigText(servers, version), 'utf8');
}
