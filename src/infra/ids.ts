import { ObjectId } from 'mongodb';

/** Parses a client-supplied id; anything that is not a 24-hex ObjectId is simply "not found". */
export function parseObjectId(id: string): ObjectId | null {
  return /^[0-9a-fA-F]{24}$/.test(id) ? new ObjectId(id) : null;
}
