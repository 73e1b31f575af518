// The "generate a strong password" helper and the passphrase strength hint.

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!@#%+=";

/** A random password from a 66-symbol alphabet (about 6 bits a character). */
export function generatePassword(length = 24) {
  const out = [];
  const limit = 256 - (256 % ALPHABET.length); // reject bytes that would bias the choice
  while (out.length < length) {
    for (const byte of globalThis.crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out.push(ALPHABET[byte % ALPHABET.length]);
    }
  }
  return out.join("");
}

/** A rough entropy estimate: enough to warn about "password1", not a proof of strength. */
export function passphraseStrength(passphrase) {
  if (!passphrase) return { score: 0, text: "" };
  let pool = 0;
  if (/[a-z]/.test(passphrase)) pool += 26;
  if (/[A-Z]/.test(passphrase)) pool += 26;
  if (/[0-9]/.test(passphrase)) pool += 10;
  if (/[^A-Za-z0-9]/.test(passphrase)) pool += 33;
  const distinct = new Set(passphrase).size;
  const bits = Math.log2(Math.max(pool, 2)) * Math.min(passphrase.length, distinct * 2);
  if (bits < 40) return { score: 1, text: "Weak: easy to guess. Use more words or characters." };
  if (bits < 64) return { score: 2, text: "Fair: fine for a short-lived secret." };
  return { score: 3, text: "Strong." };
}
