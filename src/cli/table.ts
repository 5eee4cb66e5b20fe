/** Left-aligned columns two spaces apart (the last column is not padded). */
export function tableLines(rows: readonly (readonly string[])[]): string[] {
  const w = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(w[c] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}
