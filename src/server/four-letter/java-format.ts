/**
 * How the JVM prints the values the four-letter words show. Scripts that parse `srvr`, `cons` or
 * `mntr` were written against these spellings: "0.0" rather than "0" for a double, a session id as
 * an unsigned hex long, a socket address as "/127.0.0.1:54321", a date as Date.toString().
 */

/** Long.toHexString: a 64-bit id as unsigned hex, no leading zeros. */
export function hex64(value: bigint): string {
  return BigInt.asUintN(64, value).toString(16);
}

/** BigDecimal.setScale(4, HALF_UP), as AvgMinMaxCounter rounds an average. */
export function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/**
 * Double.toString: plain notation with at least one decimal between 1e-3 and 1e7, otherwise
 * "computerized scientific notation" (1.0E-4, 1.2345E7).
 */
export function javaDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(value);
  if (abs >= 1e-3 && abs < 1e7) {
    const plain = String(value);
    return plain.includes('.') ? plain : `${plain}.0`;
  }
  const [mantissa = '0', exponent = '0'] = value.toExponential().split('e');
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The short name of the local time zone at `date` ("UTC", "EST", or "GMT+1" where none exists). */
function zoneName(date: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
    .formatToParts(date)
    .find((p) => p.type === 'timeZoneName');
  return part?.value ?? 'UTC';
}

/** java.util.Date.toString in the local time zone: "Tue Nov 24 04:19:54 UTC 2026". */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad2(d.getDate())} ${time} ${zoneName(d)} ${d.getFullYear()}`;
}

/** Inet6Address.getHostAddress: eight groups in lowercase hex, no "::" shortening, then any %zone. */
export function javaIpv6(address: string): string {
  const pct = address.indexOf('%');
  const zone = pct >= 0 ? address.slice(pct) : '';
  const bare = pct >= 0 ? address.slice(0, pct) : address;
  const groupsOf = (part: string): string[] => {
    if (part === '') return [];
    const out: string[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number);
        out.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
      } else {
        out.push(parseInt(g, 16).toString(16));
      }
    }
    return out;
  };
  const gap = bare.indexOf('::');
  let groups: string[];
  if (gap < 0) {
    groups = groupsOf(bare);
  } else {
    const head = groupsOf(bare.slice(0, gap));
    const tail = groupsOf(bare.slice(gap + 2));
    groups = [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  }
  return groups.join(':') + zone;
}

/** InetSocketAddress.toString of an unresolved peer: "/127.0.0.1:54321", "/[0:0:0:0:0:0:0:1]:54321". */
export function javaSocketAddress(address: string, port: number): string {
  return address.includes(':') ? `/[${javaIpv6(address)}]:${port}` : `/${address}:${port}`;
}
