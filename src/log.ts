/** The logger every component takes (never a global). The CLI decides where it goes. */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };
