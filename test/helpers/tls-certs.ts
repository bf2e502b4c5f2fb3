// Certificates for the TLS tests (OVSDB and OpenFlow ssl: targets), made with openssl in a
// directory of the test's own: a CA and certificates it signs, each in or out of date.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate to make: its name (also its CN and file names) and how many days it is valid (-1: expired yesterday). */
export interface CertSpec {
  name: string;
  days?: number;
}

/**
 * Makes `DIR/CA.key` and `DIR/CA.pem` (a self-signed CA valid 2 days) and for each of
 * `certs` `NAME.key` and `NAME.pem`, signed by it; `NAME` is the certificate's CN.
 */
export function makeCertificates(dir: string, ca: string, certs: readonly (string | CertSpec)[]): void {
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${ca}`,
  );
  for (const cert of certs) {
    const { name, days = 2 } = typeof cert === 'string' ? { name: cert } : cert;
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    openssl(
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
      String(days),
    );
  }
}

/** The contents of `DIR/NAME`. */
export function readCert(dir: string, name: string): Buffer {
  return readFileSync(join(dir, name));
}
