import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const manifestPath = new URL('../../manifest.yml', import.meta.url);
const schemaPath = new URL('../fixtures/manifest.schema.1.0.0.json', import.meta.url);

type Manifest = Record<string, any>;

function loadManifest(): Manifest {
  return parse(readFileSync(manifestPath, 'utf8')) as Manifest;
}

// Slack's schema declares draft-07, which the default Ajv class implements. Strict
// mode stays on, so the two keywords it uses that JSON Schema does not define are
// declared here rather than ignored.
function compileManifestSchema(): ValidateFunction {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    // The external_auth_providers scope lists put `minItems: 0` on their string items,
    // where it has no effect. strictTypes rejects that, so it is turned off.
    strictTypes: false,
    // `_note` contains a maintainer's comment and validates nothing.
    keywords: ['_note'],
    // ajv-formats is not a dependency. The only format in the schema is `uri`, on the
    // optional top-level `$schema` key.
    formats: { uri: (value: string) => URL.canParse(value) },
  });

  // `display_information.background_color` carries its hex-colour pattern under
  // `regex` instead of `pattern`, so standard validators skip it. Expanding it to
  // `pattern` here applies the check the schema intends and rejects a colour such as "red".
  ajv.addKeyword({
    keyword: 'regex',
    type: 'string',
    schemaType: 'string',
    macro: (pattern: string) => ({ pattern }),
  });

  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
}

// Formats Ajv errors one per line, e.g. `/features/slash_commands/0 must have required
// property 'description'`, so a failure names the manifest key to fix.
function formatErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) {
    return '(no errors)';
  }
  return errors
    .map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`)
    .join('\n');
}

describe('manifest.yml', () => {
  const validate = compileManifestSchema();
  const manifest = loadManifest();

  it('matches Slack manifest schema v1', () => {
    const valid = validate(manifest);

    expect(formatErrors(validate.errors)).toBe('(no errors)');
    expect(valid).toBe(true);
  });

  it('uses manifest schema version 1', () => {
    expect(manifest._metadata?.major_version ?? 1).toBe(1);
  });

  it('declares the /pim slash command', () => {
    const commands = manifest.features.slash_commands as Manifest[];
    const pim = commands.find((command) => command.command === '/pim');

    expect(commands).toHaveLength(1);
    expect(pim).toBeDefined();
    expect(pim?.should_escape).toBe(true);
    expect(pim?.usage_hint).toEqual(expect.any(String));
    expect(pim?.usage_hint.length).toBeGreaterThan(0);
  });

  it('requests exactly the bot scopes used', () => {
    const scopes = [...(manifest.oauth_config.scopes.bot as string[])].sort();

    expect(scopes).toEqual([
      'channels:read',
      'chat:write',
      'commands',
      'groups:read',
      'usergroups:read',
      'users:read',
      'users:read.email',
    ]);
    expect(manifest.oauth_config.scopes.user).toBeUndefined();
  });

  it('subscribes to app_home_opened', () => {
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_home_opened');
  });

  it('subscribes to user group changes', () => {
    const events = manifest.settings.event_subscriptions.bot_events as string[];

    expect(events).toContain('subteam_members_changed');
    expect(events).toContain('subteam_updated');
  });

  it('enables interactivity', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('sends requests to /slack/events', () => {
    const urls = {
      slashCommand: manifest.features.slash_commands[0].url,
      eventSubscriptions: manifest.settings.event_subscriptions.request_url,
      interactivity: manifest.settings.interactivity.request_url,
    };

    for (const [source, url] of Object.entries(urls)) {
      expect(url, source).toMatch(/^https:\/\/[^/]+\/slack\/events$/);
    }
  });

  // Each case breaks a copy of the manifest in one way. The validator must reject it
  // and point at the broken key, which shows that the passing check above is not vacuous.
  const invalidCases: { name: string; breakManifest: (copy: Manifest) => void; instancePath: string }[] = [
    {
      name: 'slash command without description',
      breakManifest: (copy) => delete copy.features.slash_commands[0].description,
      instancePath: '/features/slash_commands/0',
    },
    {
      name: 'slash command without leading slash',
      breakManifest: (copy) => (copy.features.slash_commands[0].command = 'pim'),
      instancePath: '/features/slash_commands/0/command',
    },
    {
      name: 'misspelled settings key',
      breakManifest: (copy) => (copy.settings.socket_mode = false),
      instancePath: '/settings',
    },
    {
      name: 'interactivity without is_enabled',
      breakManifest: (copy) => delete copy.settings.interactivity.is_enabled,
      instancePath: '/settings/interactivity',
    },
    {
      name: 'background colour not hex',
      breakManifest: (copy) => (copy.display_information.background_color = 'red'),
      instancePath: '/display_information/background_color',
    },
  ];

  it.each(invalidCases)('rejects $name', ({ breakManifest, instancePath }) => {
    const copy = structuredClone(manifest);
    breakManifest(copy);

    const valid = validate(copy);

    const instancePaths = (validate.errors ?? []).map((error) => error.instancePath);

    expect(valid).toBe(false);
    expect(instancePaths, formatErrors(validate.errors)).toContain(instancePath);
  });
});
