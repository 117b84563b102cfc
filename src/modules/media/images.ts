import sharp, { type OutputInfo, type Sharp } from 'sharp';
import { THUMBNAIL_SIZES, type ThumbnailSize } from '../../contracts/media.js';
import { errorMessage } from '../../errors.js';
import { TaskFailedError } from '../tasks/task-runner.js';

export interface Encoded {
  data: Buffer;
  mime: string;
  width: number;
  height: number;
}

export interface ProcessedImage {
  /** The original without metadata (EXIF, GPS, XMP), orientation applied; null: keep the bytes. */
  original: Encoded | null;
  width: number;
  height: number;
  thumbnails: Record<ThumbnailSize, Encoded>;
}

export interface ImageOptions {
  /** Images with more pixels fail (decompression bombs): sharp's limitInputPixels. */
  maxPixels: number;
  signal: AbortSignal;
  /** Called after each step with the fraction done. */
  progress: (fraction: number) => void;
}

/** The longest side of the `display` variant media-optimize makes. */
export const DISPLAY_SIZE = 1600;

/**
 * Decodes, strips metadata and makes the three WebP thumbnails (longest side 150/300/600, never
 * upscaled). Everything happens in memory on sharp's own threads (the event loop stays free);
 * nothing is written here, so a failure or a cancel leaves nothing behind. A file that does not
 * decode — not an image, truncated, too many pixels — throws TaskFailedError.
 */
export async function processImage(
  input: Buffer,
  mime: string,
  options: ImageOptions,
): Promise<ProcessedImage> {
  const open = () => decoder(input, options.maxPixels);
  const steps = 1 + THUMBNAIL_SIZES.length;
  const original = await decode(() => stripped(open(), mime));
  options.signal.throwIfAborted();
  options.progress(1 / steps);
  const thumbnails = {} as Record<ThumbnailSize, Encoded>;
  for (const [i, size] of THUMBNAIL_SIZES.entries()) {
    thumbnails[size] = await decode(() => webp(open(), size));
    options.signal.throwIfAborted();
    options.progress((i + 2) / steps);
  }
  const dims = original ?? (await decode(() => dimensions(open())));
  return { original, width: dims.width, height: dims.height, thumbnails };
}

/** A WebP copy whose longest side is at most `size` (media-optimize's display variant). */
export function resized(input: Buffer, size: number, maxPixels: number): Promise<Encoded> {
  return decode(() => webp(decoder(input, maxPixels), size));
}

function decoder(input: Buffer, maxPixels: number): Sharp {
  // failOn 'warning' (sharp's default, said explicitly): a truncated JPEG fails instead of
  // decoding to a grey bottom half.
  return sharp(input, { limitInputPixels: maxPixels, failOn: 'warning' }).rotate();
}

async function stripped(image: Sharp, mime: string): Promise<Encoded | null> {
  // sharp writes no metadata unless asked; re-encoding in the same format drops EXIF and GPS.
  // GIF carries no EXIF and may be animated: its bytes are kept as uploaded.
  const encoders: Record<string, (img: Sharp) => Sharp> = {
    'image/jpeg': (img) => img.jpeg({ quality: 90, mozjpeg: true }),
    'image/png': (img) => img.png(),
    'image/webp': (img) => img.webp({ quality: 90 }),
  };
  const encode = encoders[mime];
  if (!encode) {
    await image.stats(); // still decode every pixel: a broken GIF must fail here
    return null;
  }
  return encoded(await encode(image).toBuffer({ resolveWithObject: true }), mime);
}

async function webp(image: Sharp, size: number): Promise<Encoded> {
  const out = await image
    .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer({ resolveWithObject: true });
  return encoded(out, 'image/webp');
}

async function dimensions(image: Sharp): Promise<{ width: number; height: number }> {
  const { info } = await image.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height };
}

function encoded(out: { data: Buffer; info: OutputInfo }, mime: string): Encoded {
  return { data: out.data, mime, width: out.info.width, height: out.info.height };
}

/** sharp's errors (the input's fault) become the task's clear failure. */
async function decode<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new TaskFailedError(`The file could not be decoded as an image: ${errorMessage(error)}`);
  }
}
