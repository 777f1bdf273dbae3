/**
 * Java system properties (-Dname=value) the way zkServer.sh hands them to ZooKeeper.
 *
 * zkEnv.sh sources conf/zookeeper-env.sh and then conf/java.env (both next to zoo.cfg), and
 * zkServer.sh starts java with `$SERVER_JVMFLAGS $JVMFLAGS`, so a -D in JVMFLAGS overrides the
 * same -D in SERVER_JVMFLAGS (the JVM keeps the last one). Nothing here runs a shell: env files
 * are read as a list of simple assignments
 *
 *   statement  = [ "export" blanks ] NAME "=" word { blanks NAME "=" word } [ ";" ] [ "#" comment ]
 *              | "export" blanks NAME { blanks NAME }
 *   word       = { unquoted-char | "\" char | "'" literal "'" | '"' text-with-$-expansion '"' }
 *   expansion  = $NAME | ${NAME} | ${NAME:-word} | ${NAME-word}
 *
 * and any other line (if/fi, functions, $(...) or backquote commands) is skipped with a warning.
 *
 * Unlike the real script, which word-splits the flags without removing quotes, a flag such as
 * -Dname="a b" is read as one property whose value is `a b`: that is what its author meant.
 */

/** A shell variable and where its current value came from. */
export interface ShellVar {
  value: string;
  /** "the environment" or "FILE:LINE". */
  origin: string;
}

export interface SystemProp {
  name: string;
  value: string;
  /** Human-readable origin for error messages, e.g. "-Djute.maxbuffer in JVMFLAGS (from the environment)". */
  source: string;
}

export interface EnvFile {
  path: string;
  text: string;
}

export interface SystemPropsResult {
  props: ReadonlyMap<string, SystemProp>;
  /** Lines of env files that were skipped because they are not simple assignments. */
  warnings: readonly string[];
}

/** Variables whose -D words become system properties, in the order zkServer.sh joins them. */
export const JVM_FLAG_VARS = ['SERVER_JVMFLAGS', 'JVMFLAGS'] as const;

class Unsupported extends Error {}

function isNameStart(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z_]/.test(c);
}

function isNameChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

/** A CR counts as a blank so that files with CRLF line ends read as intended. */
function isShellBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r';
}

/** A cursor over one env file; tracks the line number for origins and warnings. */
class ShellReader {
  pos = 0;
  line = 1;

  constructor(
    readonly text: string,
    readonly vars: Map<string, ShellVar>,
  ) {}

  peek(offset = 0): string | undefined {
    return this.text[this.pos + offset];
  }

  next(): string | undefined {
    const c = this.text[this.pos++];
    if (c === '\n') this.line++;
    return c;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipBlanks(): void {
    for (;;) {
      const c = this.peek();
      if (isShellBlank(c)) this.pos++;
      else if (c === '\\' && this.peek(1) === '\n') {
        this.next();
        this.next();
      } else return;
    }
  }

  skipToEndOfLine(): void {
    while (!this.atEnd() && this.peek() !== '\n') this.next();
  }

  readName(): string | null {
    if (!isNameStart(this.peek())) return null;
    let name = '';
    while (isNameChar(this.peek())) name += this.next();
    return name;
  }

  lookup(name: string): string | undefined {
    return this.vars.get(name)?.value;
  }

  /** After a '$'. */
  readExpansion(): string {
    const c = this.peek();
    if (c === '(' || c === '`') throw new Unsupported('command substitution');
    if (c === '{') {
      this.next();
      const name = this.readName();
      if (name === null) throw new Unsupported('parameter expansion');
      const value = this.lookup(name);
      if (this.peek() === '}') {
        this.next();
        return value ?? '';
      }
      let useDefaultWhenEmpty = false;
      if (this.peek() === ':') {
        this.next();
        useDefaultWhenEmpty = true;
      }
      if (this.peek() !== '-') throw new Unsupported('parameter expansion');
      this.next();
      const fallback = this.readWord('}');
      if (this.next() !== '}') throw new Unsupported('unterminated ${');
      const unset = value === undefined || (useDefaultWhenEmpty && value === '');
      return unset ? fallback : value;
    }
    const name = this.readName();
    if (name === null) return '$';
    return this.lookup(name) ?? '';
  }

  readSingleQuoted(): string {
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === undefined) throw new Unsupported("unterminated '");
      if (c === "'") return out;
      out += c;
    }
  }

  readDoubleQuoted(): string {
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === undefined) throw new Unsupported('unterminated "');
      if (c === '"') return out;
      if (c === '`') throw new Unsupported('command substitution');
      if (c === '$') out += this.readExpansion();
      else if (c === '\\') {
        const e = this.peek();
        if (e === '\n') this.next();
        else if (e === '$' || e === '`' || e === '"' || e === '\\') out += this.next();
        else out += '\\';
      } else out += c;
    }
  }

  /** Reads one assignment value; stops at an unquoted blank, newline, ';' or `stop`. */
  readWord(stop?: string): string {
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '\n' || c === ';' || isShellBlank(c) || c === stop) return out;
      this.next();
      if (c === "'") out += this.readSingleQuoted();
      else if (c === '"') out += this.readDoubleQuoted();
      else if (c === '`') throw new Unsupported('command substitution');
      else if (c === '$') out += this.readExpansion();
      else if (c === '\\') {
        const e = this.next();
        if (e !== undefined && e !== '\n') out += e;
      } else if (c === '|' || c === '&' || c === '<' || c === '>' || c === '(' || c === ')') {
        throw new Unsupported('operator');
      } else out += c;
    }
  }

  /** After a statement: only blanks, ';', a comment or the end of the line may follow. */
  endOfStatement(): boolean {
    this.skipBlanks();
    const c = this.peek();
    if (c === ';') {
      this.next();
      this.skipBlanks();
    }
    const d = this.peek();
    if (d === '#') this.skipToEndOfLine();
    return this.atEnd() || this.peek() === '\n';
  }
}

/**
 * Parses one statement; returns the assignments it makes, or throws Unsupported.
 * Assignments are applied only when the whole statement parsed.
 */
function readStatement(r: ShellReader, origin: string): Array<[string, ShellVar]> {
  const assignments: Array<[string, ShellVar]> = [];
  const save = r.pos;
  let exported = false;
  const first = r.readName();
  if (first === 'export' && isShellBlank(r.peek())) {
    exported = true;
    r.skipBlanks();
  } else {
    r.pos = save;
  }
  let sawName = false;
  for (;;) {
    const name = r.readName();
    if (name === null) break;
    sawName = true;
    if (r.peek() === '=') {
      r.next();
      assignments.push([name, { value: r.readWord(), origin }]);
    } else if (!exported) {
      throw new Unsupported('command');
    }
    r.skipBlanks();
  }
  if (!sawName) throw new Unsupported('not an assignment');
  if (!r.endOfStatement()) throw new Unsupported('trailing text');
  return assignments;
}

/**
 * Applies the simple assignments in a shell env file (java.env, zookeeper-env.sh) to `vars`.
 * Returns a warning for every line it could not read as assignments.
 */
export function applyShellEnvFile(file: EnvFile, vars: Map<string, ShellVar>): string[] {
  const warnings: string[] = [];
  const r = new ShellReader(file.text, vars);
  while (!r.atEnd()) {
    r.skipBlanks();
    const c = r.peek();
    if (c === undefined) break;
    if (c === '\n' || c === ';') {
      r.next();
      continue;
    }
    if (c === '#') {
      r.skipToEndOfLine();
      continue;
    }
    const line = r.line;
    const start = r.pos;
    try {
      for (const [name, v] of readStatement(r, `${file.path}:${line}`)) vars.set(name, v);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      r.pos = start;
      r.line = line;
      r.skipToEndOfLine();
      const shown = file.text.slice(start, r.pos).trim();
      warnings.push(
        `${file.path}:${line}: skipped "${shown}": tszk reads only simple VAR=value assignments here (${e.message})`,
      );
    }
  }
  return warnings;
}

/**
 * Splits JVM flags into words at unquoted blanks, removing quotes and backslash escapes.
 */
export function splitFlags(flags: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < flags.length; i++) {
    const c = flags[i] as string;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < flags.length) cur += flags[++i];
      else cur += c;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === '"' || c === "'") quote = c;
    else if (c === '\\' && i + 1 < flags.length) cur += flags[++i];
    else cur += c;
  }
  if (inWord) words.push(cur);
  return words;
}

/** The -Dname[=value] words of a flags string; `-Dname` alone sets an empty value, as in Java. */
export function extractSystemProps(flags: string, source: string): SystemProp[] {
  const out: SystemProp[] = [];
  for (const word of splitFlags(flags)) {
    if (!word.startsWith('-D') || word.length <= 2) continue;
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? '' : body.slice(eq + 1);
    if (name === '') continue;
    out.push({ name, value, source: `-D${name} in ${source}` });
  }
  return out;
}

/**
 * System properties from SERVER_JVMFLAGS and JVMFLAGS, after the env files (in order) had their
 * chance to set or extend those variables. Later definitions win.
 */
export function collectSystemProps(env: NodeJS.ProcessEnv, envFiles: readonly EnvFile[]): SystemPropsResult {
  const vars = new Map<string, ShellVar>();
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) vars.set(name, { value, origin: 'the environment' });
  }
  const warnings: string[] = [];
  for (const file of envFiles) warnings.push(...applyShellEnvFile(file, vars));

  const props = new Map<string, SystemProp>();
  for (const varName of JVM_FLAG_VARS) {
    const v = vars.get(varName);
    if (v === undefined) continue;
    const origin = v.origin === 'the environment' ? 'from the environment' : `set at ${v.origin}`;
    for (const p of extractSystemProps(v.value, `${varName} (${origin})`)) props.set(p.name, p);
  }
  return { props, warnings };
}
