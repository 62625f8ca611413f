// One-line logs on stderr. Never a token, an upstream URL or a stack trace.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.log(`gateway: ${message}`),
  warn: (message) => console.error(`gateway: ${message}`),
};

export const silentLogger: Logger = { info: () => {}, warn: () => {} };
