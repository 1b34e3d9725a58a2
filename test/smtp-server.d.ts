// The few parts of the `smtp-server` package (a test-only dependency without bundled types) the tests use.
declare module 'smtp-server' {
  import type { Readable } from 'node:stream'
  export interface SMTPAddress { address: string }
  export interface SMTPSession { envelope: { mailFrom: SMTPAddress | false; rcptTo: SMTPAddress[] }; secure: boolean; user?: unknown }
  export interface SMTPAuth { method: string; username?: string; password?: string }
  export interface SMTPServerOptions {
    secure?: boolean
    key?: string | Buffer
    cert?: string | Buffer
    authOptional?: boolean
    allowInsecureAuth?: boolean
    disabledCommands?: string[]
    logger?: boolean
    onAuth?(auth: SMTPAuth, session: SMTPSession, cb: (err: Error | null, res?: { user: unknown }) => void): void
    onRcptTo?(address: SMTPAddress, session: SMTPSession, cb: (err?: Error | null) => void): void
    onData?(stream: Readable, session: SMTPSession, cb: (err?: Error | null) => void): void
  }
  export class SMTPServer {
    constructor(options: SMTPServerOptions)
    listen(port: number, host: string, cb: () => void): void
    close(cb: () => void): void
    server: import('node:net').Server
  }
}
