/**
 * log4j 1.2 settings for a reference ZooKeeper server: its log to stderr, one line per event, as
 * the harnesses and the benches read it from the server's log file. No vitest here, so the
 * benches can import it.
 */
export const LOG4J_PROPERTIES = [
  'log4j.rootLogger=INFO, CONSOLE',
  'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
  'log4j.appender.CONSOLE.Target=System.err',
  'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n',
  '',
].join('\n');
