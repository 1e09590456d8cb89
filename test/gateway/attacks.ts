// Hostile GraphQL documents shared by the hardening tests (issue 14).

/** `<operation> { ...F<n> }` where F<k> spreads F<k-1> twice: 2^n copies of F0 after expansion, ~37 bytes a level. */
export function chainedFragments(
  levels: number,
  operation = "query",
  onType = "Query",
  leaf = "studies { edges { node { id } } }",
): string {
  const lines = [`${operation} { ...F${levels} }`, `fragment F0 on ${onType} { ${leaf} }`];
  for (let i = 1; i <= levels; i++) lines.push(`fragment F${i} on ${onType} { ...F${i - 1} ...F${i - 1} }`);
  return lines.join("\n");
}
