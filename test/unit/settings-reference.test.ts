import { settingsReference } from '../../config/settings-reference';
import { SETTING_AREAS, settingsSchema } from '../../config/settings';

describe('the settings as data (what docs/configuration.md is generated from)', () => {
  const rows = settingsReference();

  test('lists every setting once, each in one area', () => {
    const names = rows.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(Object.keys(settingsSchema.shape).sort());
    // An area spreading a name another area also defines would silently replace it in the schema.
    const perArea = Object.values(SETTING_AREAS).reduce((n, a) => n + Object.keys(a).length, 0);
    expect(perArea).toBe(Object.keys(settingsSchema.shape).length);
  });

  test('every setting says what it does', () => {
    expect(rows.filter((r) => r.description.trim() === '').map((r) => r.name)).toEqual([]);
  });

  test('defaults are given as the environment variable would hold them', () => {
    const byName = new Map(rows.map((r) => [r.name, r]));
    expect(byName.get('API_PORT')).toMatchObject({ area: 'api', default: '3000' });
    expect(byName.get('OPT_OUT_OTP_EXEMPT')?.default).toBe('true');
    expect(byName.get('OPT_OUT_KEYWORDS')?.default).toMatch(/^STOP,/);
    expect(JSON.parse(byName.get('CARRIERS')!.default!)).toHaveLength(2);
    expect(byName.get('TEMPORAL_ADDRESS')?.default).toBeUndefined();
    // Relative to the repository, so the generated page is the same on every machine.
    expect(byName.get('VAULT_CREDENTIALS_DIR')?.default).toBe('.data/openbao/approle');
  });
});
