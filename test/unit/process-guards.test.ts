import { isUnavailableError } from '../../clients/db';
import { processGuardHandlers } from '../../config/process-guards';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isUnavailableError: "PostgreSQL cannot be reached now", not "this statement is wrong"', () => {
  test.each([
    [
      'a server shutting down (57P01)',
      pgError('57P01', 'terminating connection due to administrator command'),
    ],
    ['a server starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['a connection failure (08006)', pgError('08006')],
    ['a refused connection', pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5433')],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    [
      'fetch failing on a refused socket',
      new TypeError('fetch failed', { cause: pgError('ECONNREFUSED') }),
    ],
  ])('%s is', (_name, err) => {
    expect(isUnavailableError(err)).toBe(true);
  });

  test.each([
    ['a unique violation (23505)', pgError('23505')],
    ['a syntax error (42601)', pgError('42601')],
    ['a statement timeout (57014)', pgError('57014')],
    ['a plain error', new Error('boom')],
    ['not an error at all', 'ECONNREFUSED'],
    ['undefined', undefined],
  ])('%s is not', (_name, err) => {
    expect(isUnavailableError(err)).toBe(false);
  });
});

describe('process guards', () => {
  const setup = () => {
    const lines: { level: string; msg: string }[] = [];
    const exits: number[] = [];
    const log = {
      error: (_o: unknown, msg: string) => void lines.push({ level: 'error', msg }),
      fatal: (_o: unknown, msg: string) => void lines.push({ level: 'fatal', msg }),
    };
    return { lines, exits, ...processGuardHandlers(log as never, (c) => void exits.push(c)) };
  };

  test('an unhandled rejection is logged and the process goes on', () => {
    const g = setup();
    g.onRejection(new Error('nobody awaited me'));
    expect(g.lines).toEqual([{ level: 'error', msg: expect.stringMatching(/unhandled/) }]);
    expect(g.exits).toEqual([]);
  });

  test('an uncaught connection error (an error event nobody listened to) is logged; the process goes on', () => {
    const g = setup();
    g.onException(pgError('57P01', 'terminating connection due to administrator command'));
    expect(g.lines).toEqual([{ level: 'error', msg: expect.stringMatching(/reconnects/) }]);
    expect(g.exits).toEqual([]);
  });

  test('any other uncaught exception is logged as fatal and exits 1 (for the supervisor to restart)', () => {
    const g = setup();
    g.onException(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(g.lines).toEqual([{ level: 'fatal', msg: expect.stringMatching(/supervisor/) }]);
    expect(g.exits).toEqual([1]);
  });
});
