// Query limits. Depth: a static validation rule (counts nested selection sets through fragments).
// Cost: needs the variables (a page size is often `$first`), so it is a rule factory run per operation:
// every object-typed field costs 1, and a list multiplies its sub-selection by its page size (`first`,
// else the argument's default, else LIST_ESTIMATE for unbounded child lists such as `images`).
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isAbstractType,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
} from "graphql";

/** Assumed length of lists without a page size (images, analyses, findings, regions of one parent). */
export const LIST_ESTIMATE = 5;

export function depthLimitRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!set) return 0;
      let deepest = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value.startsWith("__")) continue; // introspection meta fields
          deepest = Math.max(deepest, sel.selectionSet ? 1 + depthOf(sel.selectionSet, seen) : 1);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(sel.selectionSet, seen));
        } else {
          const name = sel.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // cycles are reported by NoFragmentCycles
          deepest = Math.max(deepest, depthOf(frag.selectionSet, new Set([...seen, name])));
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(
              `Query is too deep: depth ${depth} exceeds the limit of ${maxDepth}. Ask for fewer nested levels.`,
              { nodes: [node], extensions: { code: "QUERY_TOO_DEEP", depth, maxDepth } },
            ),
          );
        }
      },
    };
  };
}

function argValue(node: ValueNode | undefined, variables: Record<string, unknown>): unknown {
  if (!node) return undefined;
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  if (node.kind === Kind.INT) return Number(node.value);
  return undefined;
}

function listSize(field: FieldNode, def: GraphQLField<unknown, unknown> | undefined, variables: Record<string, unknown>) {
  const firstArg = field.arguments?.find((a) => a.name.value === "first");
  const explicit = argValue(firstArg?.value, variables);
  if (typeof explicit === "number") return explicit;
  const fallback = def?.args.find((a) => a.name === "first")?.defaultValue;
  if (typeof fallback === "number") return fallback;
  return LIST_ESTIMATE;
}

/**
 * Estimated cost of a selection set (see the header comment). On a union or interface, fragments for
 * different concrete types cannot all apply to one object, so their costs are combined by max, not sum.
 * Exported for tests and the benchmark.
 */
export function estimateCost(
  schema: GraphQLSchema,
  type: GraphQLCompositeType,
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  seen: Set<string> = new Set(),
  /** a connection's page size, carried from the connection field down to its `edges` list */
  inheritedPage?: number,
): number {
  let total = 0;
  const byType = new Map<string, number>();
  const addFragment = (onType: GraphQLCompositeType, cost: number) => {
    if (onType === type) total += cost;
    else byType.set(onType.name, (byType.get(onType.name) ?? 0) + cost);
  };
  for (const sel of set.selections) {
    if (sel.kind === Kind.FRAGMENT_SPREAD) {
      const def = fragments.get(sel.name.value);
      if (!def || seen.has(sel.name.value)) continue;
      const named = schema.getType(def.typeCondition.name.value);
      const onType = named && (isObjectType(named) || isAbstractType(named)) ? named : type;
      addFragment(onType, estimateCost(schema, onType, def.selectionSet, fragments, variables, new Set([...seen, sel.name.value]), inheritedPage));
      continue;
    }
    if (sel.kind === Kind.INLINE_FRAGMENT) {
      const named = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
      const onType = named && (isObjectType(named) || isAbstractType(named)) ? named : type;
      addFragment(onType, estimateCost(schema, onType, sel.selectionSet, fragments, variables, seen, inheritedPage));
      continue;
    }
    if (!sel.selectionSet) continue; // scalars are free
    const def = isObjectType(type) ? (type as GraphQLObjectType).getFields()[sel.name.value] : undefined;
    const fieldType: GraphQLOutputType | undefined = def?.type;
    const named = fieldType ? getNamedType(fieldType) : undefined;
    const childType = named && (isObjectType(named) || isAbstractType(named)) ? named : type;
    const isList = fieldType ? isListType(getNullableType(fieldType)) : false;
    const hasFirst = def?.args.some((a) => a.name === "first") ?? false;
    // A connection field (has `first`, not a list) passes its page size to its `edges` list.
    const page = hasFirst ? listSize(sel, def, variables) : undefined;
    const multiplier = isList ? (inheritedPage ?? (hasFirst ? page! : LIST_ESTIMATE)) : 1;
    const childCost = estimateCost(schema, childType, sel.selectionSet, fragments, variables, seen, page);
    total += multiplier * (1 + childCost);
  }
  return total + Math.max(0, ...byType.values());
}

export function costLimitRule(maxCost: number, variables: Record<string, unknown>) {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const def of context.getDocument().definitions) {
      if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    }
    return {
      OperationDefinition(node) {
        const root =
          node.operation === "query"
            ? schema.getQueryType()
            : node.operation === "mutation"
              ? schema.getMutationType()
              : schema.getSubscriptionType();
        if (!root) return;
        const cost = estimateCost(schema, root, node.selectionSet, fragments, variables);
        if (cost > maxCost) {
          context.reportError(
            new GraphQLError(
              `Query is too expensive: estimated cost ${cost} exceeds the limit of ${maxCost}. ` +
                "Ask for smaller pages or fewer nested lists.",
              { nodes: [node], extensions: { code: "QUERY_TOO_COSTLY", cost, maxCost } },
            ),
          );
        }
      },
    };
  };
}
