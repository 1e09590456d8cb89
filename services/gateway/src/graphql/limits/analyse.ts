// One linear pass over a parsed document that measures what the limits need: depth, estimated cost,
// aliases, root fields, field selections after fragment expansion, and the page-size arguments.
//
// Why linear: a fragment is walked once per (fragment, type, inherited page size) and its summary is
// reused wherever it is spread, so `fragment F2 { ...F1 ...F1 }` chained 30 levels deep costs 30 walks,
// not 2^30 (the old validators re-expanded every spread). Fragment cycles are found first (findCycle) and
// refused; the walk also stops at a spread already on its stack. `visited` counts the selection nodes the
// walk touched, so tests can check the work stays proportional to the document.
//
// Cost model (unchanged from before, plus root fields): every object-typed field costs 1, a list multiplies
// its sub-selection by its page size (`first`, else the argument's default, else MAX_PAGE_SIZE when the
// value is missing or invalid) or by LIST_ESTIMATE for child lists without a page argument; union/interface
// fragments for different types count by max, not sum; every root field costs at least 1 (`labels` is a
// scalar list but still a resolver and a database read).
import {
  Kind,
  getNamedType,
  getNullableType,
  isAbstractType,
  isListType,
  isObjectType,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { MAX_PAGE_SIZE } from "../pagination.ts";

/** Assumed length of lists without a page size (images, analyses, findings, regions of one parent). */
export const LIST_ESTIMATE = 5;

export interface PageSizeProblem {
  /** `Type.field` the argument belongs to */
  field: string;
  value: unknown;
}

export interface OperationMetrics {
  depth: number;
  cost: number;
  /** alias nodes after fragment expansion */
  aliases: number;
  /** root field selections after fragment expansion */
  rootFieldCount: number;
  /** distinct root field names (`__typename` included) */
  rootFields: string[];
  /** field selections after fragment expansion */
  selections: number;
}

export interface DocumentAnalysis {
  /** a fragment cycle (names, the first repeated at the end), or null */
  cycle: string[] | null;
  operations: { operation: OperationDefinitionNode; metrics: OperationMetrics; pageSizes: PageSizeProblem[] }[];
  /** selection nodes the analysis walked (memoised fragments count once per distinct context) */
  visited: number;
  /** selection nodes in the document */
  nodes: number;
}

interface Summary {
  depth: number;
  cost: number;
  aliases: number;
  rootFields: number;
  selections: number;
  rootNames: Set<string>;
}

const EMPTY: Summary = { depth: 0, cost: 0, aliases: 0, rootFields: 0, selections: 0, rootNames: new Set() };

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(def.name.value)) fragments.set(def.name.value, def);
  }
  return fragments;
}

/** Spread names directly inside a selection set (inline fragments included, nested fields included). */
function spreadsIn(set: SelectionSetNode, out: Set<string>, count: { n: number }): Set<string> {
  for (const sel of set.selections) {
    count.n++;
    if (sel.kind === Kind.FRAGMENT_SPREAD) out.add(sel.name.value);
    else if (sel.selectionSet) spreadsIn(sel.selectionSet, out, count);
  }
  return out;
}

/** Depth-first search over the spread graph (each fragment entered once): the first cycle, or null. */
export function findCycle(fragments: Map<string, FragmentDefinitionNode>, count = { n: 0 }): string[] | null {
  const edges = new Map<string, string[]>();
  for (const [name, def] of fragments) edges.set(name, [...spreadsIn(def.selectionSet, new Set(), count)]);
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    const s = state.get(name);
    if (s === "done" || !edges.has(name)) return null;
    if (s === "open") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "open");
    stack.push(name);
    for (const next of edges.get(name)!) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, "done");
    return null;
  };
  for (const name of edges.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return null;
}

function rootType(schema: GraphQLSchema, op: OperationDefinitionNode) {
  return op.operation === "query"
    ? schema.getQueryType()
    : op.operation === "mutation"
      ? schema.getMutationType()
      : schema.getSubscriptionType();
}

/** Variable values as execution will see them: the ones sent, else the operation's defaults. */
function variableValues(op: OperationDefinitionNode, sent: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const def of op.variableDefinitions ?? []) {
    const name = def.variable.name.value;
    if (Object.hasOwn(sent, name)) values[name] = sent[name];
    else if (def.defaultValue) values[name] = valueFromASTUntyped(def.defaultValue);
  }
  return values;
}

export function isValidPageSize(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_PAGE_SIZE;
}

export function analyseDocument(
  schema: GraphQLSchema,
  document: DocumentNode,
  sentVariables: Record<string, unknown> = {},
): DocumentAnalysis {
  const fragments = fragmentsOf(document);
  const counter = { n: 0 };
  const cycle = findCycle(fragments, counter);
  const nodes =
    counter.n + document.definitions.reduce((n, d) => n + (d.kind === Kind.OPERATION_DEFINITION ? countNodes(d.selectionSet) : 0), 0);
  const analysis: DocumentAnalysis = { cycle, operations: [], visited: 0, nodes };
  if (cycle) return analysis;
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = rootType(schema, def);
    if (!root) continue;
    const walker = createWalker(schema, fragments, variableValues(def, sentVariables));
    const s = walker.walk(def.selectionSet, root, 0, undefined, new Set());
    analysis.visited += walker.visited();
    analysis.operations.push({
      operation: def,
      metrics: {
        depth: s.depth,
        cost: s.cost,
        aliases: s.aliases,
        rootFieldCount: s.rootFields,
        rootFields: [...s.rootNames],
        selections: s.selections,
      },
      pageSizes: walker.pageSizes(),
    });
  }
  return analysis;
}

function countNodes(set: SelectionSetNode): number {
  let n = 0;
  for (const sel of set.selections) n += 1 + (sel.kind !== Kind.FRAGMENT_SPREAD && sel.selectionSet ? countNodes(sel.selectionSet) : 0);
  return n;
}

function createWalker(schema: GraphQLSchema, fragments: Map<string, FragmentDefinitionNode>, variables: Record<string, unknown>) {
  const memo = new Map<string, Summary>();
  const problems = new Map<string, PageSizeProblem>();
  let visited = 0;

  const compositeOr = (name: string | undefined, fallback: GraphQLCompositeType): GraphQLCompositeType => {
    const named = name ? schema.getType(name) : undefined;
    return named && (isObjectType(named) || isAbstractType(named)) ? named : fallback;
  };

  /** The page size a `first` argument asks for (validated; problems are recorded once per field and value). */
  const pageOf = (field: FieldNode, parent: GraphQLCompositeType, def: GraphQLField<unknown, unknown>): number => {
    const node = field.arguments?.find((a) => a.name.value === "first")?.value;
    let value: unknown;
    if (node) value = node.kind === Kind.VARIABLE ? variables[node.name.value] : valueFromASTUntyped(node);
    if (value === undefined || value === null) {
      const fallback = def.args.find((a) => a.name === "first")?.defaultValue;
      return isValidPageSize(fallback) ? fallback : MAX_PAGE_SIZE;
    }
    if (isValidPageSize(value)) return value;
    const where = `${parent.name}.${field.name.value}`;
    problems.set(`${where}|${String(value)}`, { field: where, value });
    return MAX_PAGE_SIZE;
  };

  function walk(
    set: SelectionSetNode,
    type: GraphQLCompositeType,
    level: number,
    inheritedPage: number | undefined,
    stack: Set<string>,
  ): Summary {
    let depth = 0,
      cost = 0,
      aliases = 0,
      rootFields = 0,
      selections = 0;
    const rootNames = new Set<string>();
    const byType = new Map<string, number>();
    const add = (s: Summary, onType: GraphQLCompositeType) => {
      depth = Math.max(depth, s.depth);
      aliases += s.aliases;
      rootFields += s.rootFields;
      selections += s.selections;
      for (const n of s.rootNames) rootNames.add(n);
      if (onType === type) cost += s.cost;
      else byType.set(onType.name, (byType.get(onType.name) ?? 0) + s.cost);
    };
    for (const sel of set.selections) {
      visited++;
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const name = sel.name.value;
        const frag = fragments.get(name);
        if (!frag || stack.has(name)) continue; // unknown fragments are reported by validation; cycles were refused
        const onType = compositeOr(frag.typeCondition.name.value, type);
        const key = `${name}|${onType.name}|${level === 0 ? "root" : "nested"}|${inheritedPage ?? ""}`;
        let s = memo.get(key);
        if (!s) {
          stack.add(name);
          s = walk(frag.selectionSet, onType, level, inheritedPage, stack);
          stack.delete(name);
          memo.set(key, s);
        }
        add(s, onType);
        continue;
      }
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const onType = compositeOr(sel.typeCondition?.name.value, type);
        add(walk(sel.selectionSet, onType, level, inheritedPage, stack), onType);
        continue;
      }
      selections++;
      if (sel.alias) aliases++;
      if (level === 0) {
        rootFields++;
        rootNames.add(sel.name.value);
      }
      const meta = sel.name.value.startsWith("__"); // introspection: no depth or cost (it is off unless configured)
      const def = isObjectType(type) ? type.getFields()[sel.name.value] : undefined;
      if (!sel.selectionSet) {
        if (!meta) depth = Math.max(depth, 1);
        if (level === 0 && !meta) cost += 1;
        continue;
      }
      const fieldType = def?.type;
      const named = fieldType ? getNamedType(fieldType) : undefined;
      const childType = named && (isObjectType(named) || isAbstractType(named)) ? named : type;
      const isList = fieldType ? isListType(getNullableType(fieldType)) : false;
      const hasFirst = def?.args.some((a) => a.name === "first") ?? false;
      // a connection field (has `first`, is not a list) passes its page size down to its `edges` list
      const page = hasFirst && def ? pageOf(sel, type, def) : undefined;
      const multiplier = isList ? (inheritedPage ?? page ?? LIST_ESTIMATE) : 1;
      const child = walk(sel.selectionSet, childType, level + 1, page, stack);
      depth = Math.max(depth, meta ? 0 : 1 + child.depth);
      aliases += child.aliases;
      selections += child.selections;
      if (!meta) cost += multiplier * (1 + child.cost);
    }
    return { depth, cost: cost + Math.max(0, ...byType.values()), aliases, rootFields, selections, rootNames };
  }

  return {
    walk: (set: SelectionSetNode, type: GraphQLCompositeType, level: number, page: number | undefined, stack: Set<string>) =>
      set.selections.length ? walk(set, type, level, page, stack) : EMPTY,
    visited: () => visited,
    pageSizes: () => [...problems.values()],
  };
}
