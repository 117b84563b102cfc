import { z } from 'zod';

/** Longest emoji sequence in Unicode (family ZWJ sequences with skin tones) is well under this. */
const MAX_EMOJI_UTF16 = 32;
const VARIATION_SELECTOR_16 = '\uFE0F';

// `\p{RGI_Emoji}` matches whole emoji sequences (flags, keycaps, ZWJ families, skin tones) and
// needs the `v` flag, which the TypeScript target does not know yet, hence the constructor.
const ONE_RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');

/**
 * The canonical form of `text` when it is exactly one emoji, else null. A character that is an
 * emoji only in its emoji presentation (`❤` and `❤️`) is stored with the variation selector,
 * so both spellings count as one reaction.
 */
export function canonicalEmoji(text: string): string | null {
  if (text.length === 0 || text.length > MAX_EMOJI_UTF16) return null;
  if (ONE_RGI_EMOJI.test(text)) return text;
  const presented = text + VARIATION_SELECTOR_16;
  return ONE_RGI_EMOJI.test(presented) ? presented : null;
}

/** A path segment that must be one emoji (URL-decoded by Express), canonicalised. */
export const Emoji = z.string().transform((text, ctx) => {
  const emoji = canonicalEmoji(text);
  if (emoji === null) {
    ctx.addIssue({ code: 'custom', message: 'must be exactly one emoji' });
    return z.NEVER;
  }
  return emoji;
});
