/** Edit distance between two strings (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * @internal ` Did you mean "x"?` for the closest known name (a case-only difference, or an edit
 * distance within a third of the name's length, at least 2); otherwise the list of known names.
 */
export function didYouMean(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === name.toLowerCase() ? 0.5 : distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  if (best !== undefined && bestDistance <= limit) return ` Did you mean "${best}"?`;
  const names = [...known];
  if (names.length === 0) return "";
  const listed = names
    .slice(0, 10)
    .map((n) => `"${n}"`)
    .join(", ");
  return ` Known: ${listed}${names.length > 10 ? `, and ${names.length - 10} more` : ""}.`;
}
