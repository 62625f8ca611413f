// Field schemas shared by the HTTP routes.
import { z } from "zod";
import { isValidId } from "../protocol/conversation-id";

export const userIdField = z
  .string()
  .refine(isValidId, "must be a user id (letters, digits and '-', at most 64)");

export const userIdList = (max: number) =>
  z.array(userIdField).min(1, "must not be empty").max(max, `at most ${max} ids`);

/** bcrypt reads at most 72 bytes; longer passwords would be silently truncated, so refuse them. */
export const passwordField = z
  .string()
  .min(6, "must be at least 6 characters")
  .refine((p) => new TextEncoder().encode(p).length <= 72, "must be at most 72 bytes");
