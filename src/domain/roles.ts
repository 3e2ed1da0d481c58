/** Slug of the role that may change slack-pim's own configuration while active. */
export const PRIVILEGED_ROLE_ADMINISTRATOR = 'privileged-role-administrator';

/** Slug of the role that reads the audit log and handles alerts. */
export const SECURITY_ADMINISTRATOR = 'security-administrator';

/** Slug of the role with full access to every administrative feature. */
export const GLOBAL_ADMINISTRATOR = 'global-administrator';

export const MAX_SLUG_LENGTH = 64;

/** Maximum number of role names that an ambiguity message lists. It counts the rest. */
export const MAX_LISTED_CANDIDATES = 5;

/** A role of the catalog seeded on first start. Administrators may edit it afterwards. */
export interface BuiltinRole {
  readonly slug: string;
  readonly name: string;
  readonly description: string;
}

/**
 * The roles seeded on first start, modelled on Microsoft Entra ID's built-in directory roles
 * of the same names. Each slug is `slugify(name)`.
 */
export const BUILTIN_ROLES: readonly BuiltinRole[] = [
  {
    slug: GLOBAL_ADMINISTRATOR,
    name: 'Global Administrator',
    description:
      "Has full access to every administrative feature and setting of the organization's systems.",
  },
  {
    slug: PRIVILEGED_ROLE_ADMINISTRATOR,
    name: 'Privileged Role Administrator',
    description:
      'Manages roles, role settings, assignments and access reviews in slack-pim, so it decides who may hold each role.',
  },
  {
    slug: SECURITY_ADMINISTRATOR,
    name: 'Security Administrator',
    description:
      'Reads the audit log and security reports and handles security alerts, but cannot change role assignments.',
  },
  {
    slug: 'billing-administrator',
    name: 'Billing Administrator',
    description:
      'Manages subscriptions, purchases, invoices and payment methods, and opens billing support requests.',
  },
  {
    slug: 'service-administrator',
    name: 'Service Administrator',
    description:
      'Opens and follows support requests with vendors and watches service health and announcements.',
  },
  {
    slug: 'user-administrator',
    name: 'User Administrator',
    description:
      'Creates, edits and deletes user accounts and groups, and resets passwords of users without administrator roles.',
  },
  {
    slug: 'password-administrator',
    name: 'Password Administrator',
    description:
      'Resets passwords of users who hold no administrator role, and of other Password Administrators.',
  },
];

export type ResolveRoleResult<T> =
  | { ok: true; role: T }
  | {
      ok: false;
      code: 'role_not_found' | 'role_ambiguous';
      message: string;
      candidates: T[];
    };

/** Returns the role whose slug or name is exactly `query` (ignoring case and spacing), if any. */
export function findExactRole<T extends { slug: string; name: string }>(query: string, roles: readonly T[]): T | undefined {
  const normalizedQuery = normalize(query);
  if (normalizedQuery.length === 0) return undefined;
  return roles.find((role) => normalize(role.slug) === normalizedQuery || normalize(role.name) === normalizedQuery);
}

/**
 * Finds the one role that a user means by `query`, ignoring case and repeated spaces.
 *
 * An exact slug or name wins. Otherwise a query that starts exactly one slug or name picks that
 * role. Several matches at the same step are ambiguous, and `candidates` lists them in the order
 * of `roles`. No match is `role_not_found` with no candidates.
 */
export function resolveRole<T extends { slug: string; name: string }>(
  query: string,
  roles: readonly T[],
): ResolveRoleResult<T> {
  const normalizedQuery = normalize(query);
  if (normalizedQuery.length === 0) {
    return {
      ok: false,
      code: 'role_not_found',
      message: 'The role is missing. Run /pim roles to see the roles.',
      candidates: [],
    };
  }

  const isExact = (role: T): boolean =>
    normalize(role.slug) === normalizedQuery || normalize(role.name) === normalizedQuery;
  const isPrefix = (role: T): boolean =>
    normalize(role.slug).startsWith(normalizedQuery) || normalize(role.name).startsWith(normalizedQuery);

  const exactMatches = roles.filter(isExact);
  const matches = exactMatches.length > 0 ? exactMatches : roles.filter(isPrefix);

  const [only, ...others] = matches;
  if (only === undefined) {
    return {
      ok: false,
      code: 'role_not_found',
      message: `No role matches "${query.trim()}". Run /pim roles to see the roles.`,
      candidates: [],
    };
  }
  if (others.length === 0) return { ok: true, role: only };

  return {
    ok: false,
    code: 'role_ambiguous',
    message:
      `"${query.trim()}" matches ${matches.length} roles: ${listNames(matches)}. ` +
      'Type more of the name, or the slug.',
    candidates: matches,
  };
}

/**
 * Turns a role name into a slug: lowercase ASCII letters, digits and single dashes, at most
 * MAX_SLUG_LENGTH characters, with no dash at either end. Accents are dropped (é becomes e).
 * Returns an empty string when nothing of the name is left, such as for a name in a non-Latin
 * script, so the caller must supply a slug then.
 */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, MAX_SLUG_LENGTH).replace(/-+$/, '');
}

function normalize(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

function listNames(roles: readonly { name: string }[]): string {
  const listed = roles.slice(0, MAX_LISTED_CANDIDATES).map((role) => role.name);
  const unlisted = roles.length - listed.length;
  return unlisted > 0 ? `${listed.join(', ')} and ${unlisted} more` : listed.join(', ');
}
