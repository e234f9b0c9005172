/**
 * The small part of `smpp` 0.5.x (no published types) that carriers/smpp uses.
 * PDU fields are dynamic (one property per SMPP parameter or TLV), hence the index signature.
 */
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer, Socket } from 'node:net';

  export class PDU {
    constructor(command: string, options?: Record<string, unknown>);
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    isResponse(): boolean;
    response(options?: Record<string, unknown>): PDU;
    toBuffer(): Buffer;
    [field: string]: unknown;
  }

  export class Session extends EventEmitter {
    socket: Socket;
    server?: Server;
    /** Returns false (and sends nothing) when the socket is not writable. */
    send(
      pdu: PDU,
      responseCallback?: (pdu: PDU) => void,
      sendCallback?: (pdu: PDU) => void,
    ): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
  }

  export interface ConnectOptions {
    host: string;
    port: number;
    /** With `tls`, the rest is handed to `tls.connect` (ca, servername, rejectUnauthorized…). */
    tls?: boolean;
    rejectUnauthorized?: boolean;
    ca?: string | Buffer;
    servername?: string;
    minVersion?: 'TLSv1.2' | 'TLSv1.3';
    auto_enquire_link_period?: number;
  }

  export interface Server extends NetServer {
    sessions: Session[];
    on(event: 'session', listener: (session: Session) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export function connect(options: ConnectOptions, listener?: () => void): Session;
  export function createServer(
    options?: Record<string, unknown>,
    listener?: (session: Session) => void,
  ): Server;
}
