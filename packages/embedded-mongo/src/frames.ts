import { crc32 } from 'node:zlib';
import type { FileHandle } from 'node:fs/promises';

/**
 * Checksummed frames, the unit of both the journal and snapshots:
 * `[u32 payload length][u32 CRC-32 of length and payload][payload]`, little-endian.
 * A frame whose length runs past the end of the file, or whose checksum does not match, marks
 * the end of the valid data: a crash in the middle of an append leaves exactly such a tail.
 */
export const FRAME_HEADER = 8;

/**
 * CRC-32 of `data` continuing from `crc`. Empty data leaves it unchanged: zlib.crc32 returns 0
 * for some empty buffers (no backing store) whatever the running value (Node 20.20).
 */
function crcOf(data: Uint8Array, crc?: number): number {
  if (data.length === 0) return crc ?? 0;
  return crc32(data, crc);
}

export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.set(payload, FRAME_HEADER);
  out.writeUInt32LE(crcOf(payload, crcOf(out.subarray(0, 4))), 4);
  return out;
}

/** Frames built from several parts without concatenating them first. */
export function frameParts(parts: Uint8Array[]): Uint8Array[] {
  let length = 0;
  for (const p of parts) length += p.length;
  const header = Buffer.allocUnsafe(FRAME_HEADER);
  header.writeUInt32LE(length, 0);
  let crc = crcOf(header.subarray(0, 4));
  for (const p of parts) crc = crcOf(p, crc);
  header.writeUInt32LE(crc, 4);
  return [header, ...parts];
}

export interface ReadFrame {
  payload: Buffer;
  /** File offset just past this frame. */
  end: number;
}

export interface FrameScan {
  /** Offset just past the last valid frame. */
  validEnd: number;
  /** Why reading stopped before the end of the file, if it did. */
  damage: string | undefined;
}

const READ_CHUNK = 8 * 1024 * 1024;

/**
 * Reads the frames of a file in order, a chunk at a time (never the whole file at once), calling
 * `onFrame` for each valid one. Stops at the first torn or corrupted frame and reports where the
 * valid data ends, so the caller can cut the file there.
 */
export async function readFrames(
  fh: FileHandle,
  start: number,
  onFrame: (frame: ReadFrame) => void | Promise<void>,
): Promise<FrameScan> {
  const { size } = await fh.stat();
  let buf = Buffer.alloc(0);
  let bufStart = start;
  let pos = start;
  const ensure = async (bytes: number): Promise<boolean> => {
    const have = bufStart + buf.length - pos;
    if (have >= bytes) return true;
    const fileLeft = size - (bufStart + buf.length);
    if (have + fileLeft < bytes) return false;
    const want = Math.max(bytes - have, Math.min(READ_CHUNK, fileLeft));
    const next = Buffer.allocUnsafe(have + want);
    buf.copy(next, 0, pos - bufStart);
    const { bytesRead } = await fh.read(next, have, want, bufStart + buf.length);
    buf = next.subarray(0, have + bytesRead);
    bufStart = pos;
    return have + bytesRead >= bytes;
  };
  while (pos < size) {
    if (!(await ensure(FRAME_HEADER))) {
      return { validEnd: pos, damage: `torn frame header at offset ${pos}` };
    }
    const at = pos - bufStart;
    const length = buf.readUInt32LE(at);
    const expected = buf.readUInt32LE(at + 4);
    const lengthBytes = buf.subarray(at, at + 4);
    const lengthCrc = crcOf(lengthBytes);
    if (!(await ensure(FRAME_HEADER + length))) {
      return { validEnd: pos, damage: `torn frame of ${length} bytes at offset ${pos}` };
    }
    const from = pos - bufStart + FRAME_HEADER;
    const payload = buf.subarray(from, from + length);
    if (crcOf(payload, lengthCrc) !== expected) {
      return { validEnd: pos, damage: `checksum mismatch in the frame at offset ${pos}` };
    }
    pos += FRAME_HEADER + length;
    await onFrame({ payload, end: pos });
  }
  return { validEnd: pos, damage: undefined };
}
