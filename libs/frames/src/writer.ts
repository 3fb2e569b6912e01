import type { Socket } from 'node:net';

/**
 * Writes frames to a socket, corked for the rest of the event-loop turn: every frame written in one
 * turn leaves in one writev.
 */
export class FrameWriter {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  /** Writes a frame's head part and its body (may be empty). */
  write(head: Buffer, body: Buffer | undefined): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(uncork, this);
    }
    socket.write(head);
    if (body !== undefined && body.length > 0) socket.write(body);
  }

  /** Bytes queued in the socket but not yet handed to the kernel. */
  get buffered(): number {
    return this.socket.writableLength;
  }

  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }
}

function uncork(writer: FrameWriter): void {
  writer.flush();
}
