/**
 * AMQP topic matching, as RabbitMQ does it for bindings: words separated by dots, `*` matches
 * exactly one word, `#` zero or more. Used where we filter without the broker (the log's tail,
 * webhooks' event patterns).
 */
export function matchesTopic(pattern: string, key: string): boolean {
  return match(pattern.split('.'), 0, key.split('.'), 0);
}

function match(p: string[], i: number, k: string[], j: number): boolean {
  if (i === p.length) return j === k.length;
  const word = p[i];
  if (word === '#') {
    for (let skip = j; skip <= k.length; skip += 1) if (match(p, i + 1, k, skip)) return true;
    return false;
  }
  if (j === k.length) return false;
  return (word === '*' || word === k[j]) && match(p, i + 1, k, j + 1);
}
