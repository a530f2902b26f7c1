// Who may speak for whom between observatories (docs/SECURITY.md, "Forwarded requests"). A
// node that passes a scientist's or an operator's request on to another observatory does not
// pass on their bearer token: it vouches, in a signed call, for the principal it verified.
// The receiver believes that only from the node entitled to vouch:
// - a scientist: only their home observatory (`institution` in seeds/scientists.json), the
//   one that issues and verifies their credentials;
// - an operator: only their own observatory.
// So a compromised member can speak only for its own people, never for another's.
import { z } from 'zod';
import { NodeId } from '../../../coordinator-2pc/src/index.js';
import type { Principal } from '../security/principals.js';

/** The principal in a forwarded call's query string (covered by its signature). */
export const PrincipalAssertion = z.union([
  z.strictObject({ scientist: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/) }),
  z.strictObject({ operator: NodeId }),
]);
export type PrincipalAssertion = z.infer<typeof PrincipalAssertion>;

export function toAssertion(principal: Principal): PrincipalAssertion {
  return principal.kind === 'scientist' ? { scientist: principal.scientistId } : { operator: principal.observatoryId };
}

export function fromAssertion(assertion: PrincipalAssertion): Principal {
  return 'scientist' in assertion ? { kind: 'scientist', scientistId: assertion.scientist } : { kind: 'operator', observatoryId: assertion.operator };
}

export function describePrincipal(principal: Principal): string {
  return principal.kind === 'scientist' ? `scientist ${principal.scientistId}` : `${principal.observatoryId}'s operator`;
}

/** Where each scientist's home is (the scientists table); undefined for a scientist unknown here. */
export type HomeOf = (scientistId: string) => Promise<string | undefined>;

/** Why `node` may not vouch for `principal`, or undefined when it may. */
export async function whyNotEntitled(node: string, principal: Principal, homeOf: HomeOf): Promise<string | undefined> {
  if (principal.kind === 'operator') {
    return principal.observatoryId === node ? undefined : `${node} may vouch only for its own operator, not ${principal.observatoryId}'s`;
  }
  const home = await homeOf(principal.scientistId);
  if (home === undefined) return `scientist ${principal.scientistId} is not known here`;
  return home === node ? undefined : `${node} may vouch only for its own scientists; ${principal.scientistId}'s home observatory is ${home}`;
}
