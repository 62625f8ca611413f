// Password hashing with bcryptjs. Pure-JS bcrypt costs tens of ms of CPU per hash, so it runs only
// on register and login, and the cost factor is a setting (BCRYPT_COST).
import bcrypt from "bcryptjs";

export function hashPassword(password: string, cost: number): Promise<string> {
  return bcrypt.hash(password, cost);
}

/**
 * A hash of a random password at the configured cost, made once per isolate. Login compares against
 * it when the username is unknown, so an unknown user and a wrong password take the same time.
 */
const decoys = new Map<number, Promise<string>>();
function decoyHash(cost: number): Promise<string> {
  let decoy = decoys.get(cost);
  if (!decoy) {
    decoy = hashPassword(crypto.randomUUID(), cost);
    decoys.set(cost, decoy);
  }
  return decoy;
}

export async function verifyPassword(
  password: string,
  hash: string | undefined,
  cost: number,
): Promise<boolean> {
  const match = await bcrypt.compare(password, hash ?? (await decoyHash(cost)));
  return match && hash !== undefined;
}
