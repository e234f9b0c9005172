import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Certificates made at test time in `dir` with `openssl` (on PATH), valid one day, EC P-256 keys
 * that never leave the test's temporary folder: nothing with a private key is committed.
 */
export function testCertificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  return {
    /** A self-signed CA: `<name>.pem` and `<name>.key`. */
    ca(name: string, subject = `/CN=${name}`) {
      ssl(
        'req',
        '-x509',
        ...ec,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-subj',
        subject,
      );
    },
    /** A certificate `<name>.pem` (key `<name>.key`) signed by CA `ca`, with the extensions in `ext`. */
    issue(name: string, ca: string, ext: string) {
      writeFileSync(join(dir, `${name}.ext`), ext);
      ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.pem`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      );
    },
    file: (name: string) => readFileSync(join(dir, name)),
    path: (name: string) => join(dir, name),
  };
}
