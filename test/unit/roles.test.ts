import { describe, expect, it } from 'vitest';
import {
  BUILTIN_ROLES,
  GLOBAL_ADMINISTRATOR,
  MAX_LISTED_CANDIDATES,
  MAX_SLUG_LENGTH,
  PRIVILEGED_ROLE_ADMINISTRATOR,
  SECURITY_ADMINISTRATOR,
  resolveRole,
  slugify,
} from '../../src/domain/roles.js';

interface TestRole {
  id: number;
  slug: string;
  name: string;
}

const ROLES: readonly TestRole[] = [
  { id: 1, slug: 'global-administrator', name: 'Global Administrator' },
  { id: 2, slug: 'privileged-role-administrator', name: 'Privileged Role Administrator' },
  { id: 3, slug: 'security-administrator', name: 'Security Administrator' },
  { id: 4, slug: 'service-administrator', name: 'Service Administrator' },
  { id: 5, slug: 'prod-db-admin', name: 'Production Database Admin' },
  { id: 6, slug: 'prod-db', name: 'Prod DB Reader' },
];

function resolvedId(query: string, roles: readonly TestRole[] = ROLES): number | string {
  const result = resolveRole(query, roles);
  return result.ok ? result.role.id : result.code;
}

describe('resolveRole', () => {
  const cases: ReadonlyArray<[query: string, expected: number | string]> = [
    ['global-administrator', 1],
    ['Global Administrator', 1],
    ['GLOBAL ADMINISTRATOR', 1],
    ['  global   administrator ', 1],
    ['global', 1],
    ['glob', 1],
    ['global-admin', 1],
    ['priv', 2],
    ['Privileged Role', 2],
    ['sec', 3],
    ['serv', 4],
    ['production', 5],
    // An exact slug beats a longer slug that it starts.
    ['prod-db', 6],
    ['Prod DB Reader', 6],
    ['prod-db-', 5],
    ['s', 'role_ambiguous'],
    ['prod', 'role_ambiguous'],
    ['administrator', 'role_not_found'],
    ['billing', 'role_not_found'],
    ['', 'role_not_found'],
    ['   ', 'role_not_found'],
  ];

  it.each(cases)('resolves %j to %j', (query, expected) => {
    expect(resolvedId(query)).toBe(expected);
  });

  it('ambiguous exact matches are reported', () => {
    const roles: readonly TestRole[] = [
      { id: 1, slug: 'ops', name: 'Operations' },
      { id: 2, slug: 'operators', name: 'Ops' },
    ];

    const result = resolveRole('ops', roles);

    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('role_ambiguous');
      expect(result.candidates.map((role) => role.id)).toEqual([1, 2]);
    }
  });

  it('ambiguity lists candidates in the given order', () => {
    const result = resolveRole('s', ROLES);

    expect(result).toEqual({
      ok: false,
      code: 'role_ambiguous',
      message:
        '"s" matches 2 roles: Security Administrator, Service Administrator. Type more of the name, or the slug.',
      candidates: [ROLES[2], ROLES[3]],
    });
  });

  it('ambiguity message lists at most five names', () => {
    const roles: TestRole[] = Array.from({ length: 8 }, (_, index) => ({
      id: index,
      slug: `team-${index}`,
      name: `Team ${index}`,
    }));

    const result = resolveRole('team', roles);

    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toBe(
        '"team" matches 8 roles: Team 0, Team 1, Team 2, Team 3, Team 4 and 3 more. Type more of the name, or the slug.',
      );
      expect(result.candidates).toHaveLength(8);
    }
    expect(MAX_LISTED_CANDIDATES).toBe(5);
  });

  it('not found suggests /pim roles', () => {
    expect(resolveRole(' billing ', ROLES)).toEqual({
      ok: false,
      code: 'role_not_found',
      message: 'No role matches "billing". Run /pim roles to see the roles.',
      candidates: [],
    });
  });

  it('empty catalog finds nothing', () => {
    expect(resolvedId('global', [])).toBe('role_not_found');
  });

  it('returns the caller’s object', () => {
    const result = resolveRole('global', ROLES);

    expect(result.ok).toBe(true);
    if (result.ok) expect(result.role).toBe(ROLES[0]);
  });
});

describe('slugify', () => {
  const cases: ReadonlyArray<[name: string, slug: string]> = [
    ['Global Administrator', 'global-administrator'],
    ['  prod-db-admin  ', 'prod-db-admin'],
    ['R&D  Admins!', 'r-d-admins'],
    ['--Billing__Admin--', 'billing-admin'],
    ['Café Opérateur', 'cafe-operateur'],
    ['Tier 2 Support', 'tier-2-support'],
    ['管理者', ''],
    ['', ''],
    ['a'.repeat(70), 'a'.repeat(MAX_SLUG_LENGTH)],
    [`${'a'.repeat(63)} b`, 'a'.repeat(63)],
  ];

  it.each(cases)('turns %j into %j', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it.each(BUILTIN_ROLES.map((role) => role.name))('output for %j has slug form', (name) => {
    expect(slugify(name)).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
  });
});

describe('BUILTIN_ROLES', () => {
  it('lists the seven catalog roles', () => {
    expect(BUILTIN_ROLES.map((role) => role.name)).toEqual([
      'Global Administrator',
      'Privileged Role Administrator',
      'Security Administrator',
      'Billing Administrator',
      'Service Administrator',
      'User Administrator',
      'Password Administrator',
    ]);
  });

  it.each(BUILTIN_ROLES.map((role) => [role.name, role] as const))('%s slug is its slugified name', (_, role) => {
    expect(role.slug).toBe(slugify(role.name));
  });

  it.each(BUILTIN_ROLES.map((role) => [role.name, role.description] as const))(
    '%s has a one-sentence description',
    (_, description) => {
      expect(description).toMatch(/^[A-Z][^.]*\.$/);
    },
  );

  it('slug constants name catalog roles', () => {
    const slugs = BUILTIN_ROLES.map((role) => role.slug);

    expect(slugs).toContain(PRIVILEGED_ROLE_ADMINISTRATOR);
    expect(slugs).toContain(SECURITY_ADMINISTRATOR);
    expect(slugs).toContain(GLOBAL_ADMINISTRATOR);
  });

  it('slug constants have fixed values', () => {
    expect(PRIVILEGED_ROLE_ADMINISTRATOR).toBe('privileged-role-administrator');
    expect(SECURITY_ADMINISTRATOR).toBe('security-administrator');
    expect(GLOBAL_ADMINISTRATOR).toBe('global-administrator');
  });

  it('every catalog role resolves by name and slug', () => {
    for (const role of BUILTIN_ROLES) {
      expect(resolveRole(role.name, BUILTIN_ROLES), role.name).toEqual({ ok: true, role });
      expect(resolveRole(role.slug, BUILTIN_ROLES), role.slug).toEqual({ ok: true, role });
    }
  });
});
