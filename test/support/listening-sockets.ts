/**
 * Reads the addresses that TCP sockets listen on from the kernel's tables (Linux `/proc/net`), as
 * `ss -ltn` shows them, so a test can check where a server is bound without sending it traffic.
 */
import { readFile } from 'node:fs/promises';

const LISTEN_STATE = '0A';

/** Returns the local addresses of the sockets listening on TCP `port`, such as `127.0.0.1` or `::`. */
export async function listeningAddresses(port: number): Promise<string[]> {
  const tables = [
    { file: '/proc/net/tcp', decode: decodeIpv4 },
    { file: '/proc/net/tcp6', decode: decodeIpv6 },
  ];
  const addresses: string[] = [];
  for (const { file, decode } of tables) {
    // tcp6 is missing only when the kernel has no IPv6, and then nothing can listen there.
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (file.endsWith('6') && error.code === 'ENOENT') return '';
      throw error;
    });
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || state !== LISTEN_STATE) continue;
      const [hexAddress, hexPort] = local.split(':');
      if (hexAddress === undefined || Number.parseInt(hexPort ?? '', 16) !== port) continue;
      addresses.push(decode(hexAddress));
    }
  }
  return addresses;
}

// The kernel prints each 32-bit word of an address in host byte order (little-endian here).
function wordBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const chunk = hex.slice(word, word + 8);
    for (let index = 6; index >= 0; index -= 2) bytes.push(Number.parseInt(chunk.slice(index, index + 2), 16));
  }
  return bytes;
}

function decodeIpv4(hex: string): string {
  return wordBytes(hex).join('.');
}

function decodeIpv6(hex: string): string {
  const bytes = wordBytes(hex);
  const groups: string[] = [];
  for (let index = 0; index < 16; index += 2) groups.push((((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)).toString(16));
  const full = groups.join(':');
  if (full === '0:0:0:0:0:0:0:0') return '::';
  if (full === '0:0:0:0:0:0:0:1') return '::1';
  return full;
}
