// Every attack, in the order they run: the login burst must come before anything else spends the address's
// failed-login budget, and the flood runs last so that its load does not overlap another attack's window.
import { authAttacks } from "./auth.ts";
import { floodAttacks } from "./flood.ts";
import { graphqlAttacks } from "./graphql.ts";
import { tenancyAttacks } from "./tenancy.ts";
import type { Attack } from "./types.ts";
import { uploadAttacks } from "./uploads.ts";

export const allAttacks: Attack[] = [...authAttacks, ...tenancyAttacks, ...graphqlAttacks, ...uploadAttacks, ...floodAttacks];
export type { Attack, AttackContext } from "./types.ts";
