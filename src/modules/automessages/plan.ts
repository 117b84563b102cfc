import { randomInt } from 'node:crypto';

/** Unbiased in-place Fisher–Yates shuffle (crypto-strength indices, no modulo bias). */
export function shuffle<T>(items: T[], random: (maxExclusive: number) => number = randomInt): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = random(i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** Consecutive pairs of a shuffled list; the odd one out, if any, is returned separately. */
export function pairUp<T>(items: readonly T[]): { pairs: [T, T][]; unpaired: T | null } {
  const pairs: [T, T][] = [];
  for (let i = 0; i + 1 < items.length; i += 2) pairs.push([items[i] as T, items[i + 1] as T]);
  return { pairs, unpaired: items.length % 2 === 1 ? (items.at(-1) as T) : null };
}

/** A uniformly random instant in [from, to]. */
export function randomDateBetween(
  from: Date,
  to: Date,
  random: (maxExclusive: number) => number = randomInt,
): Date {
  const span = Math.max(0, to.getTime() - from.getTime());
  // randomInt's range is limited to 2^48; a day in ms is far below it.
  return new Date(from.getTime() + (span === 0 ? 0 : random(span + 1)));
}

export const TEMPLATES: readonly string[] = [
  'Hi! Parley paired us up tonight — how is your week going?',
  'Hello from your random Parley match. What are you reading lately?',
  'Hey! Random question: what is the best thing you ate this week?',
  'Greetings, stranger! Any plans for the weekend?',
  'Hi there — Parley says we should talk. What got you smiling today?',
  'Hello! If you could learn one new skill overnight, what would it be?',
  'Hey, nice to meet you. Coffee or tea?',
  'Hi! What song has been stuck in your head recently?',
];

export function pickTemplate(random: (maxExclusive: number) => number = randomInt): string {
  return TEMPLATES[random(TEMPLATES.length)] as string;
}
