// Request fields added by our middleware.
import type { Logger } from 'pino';
import type { Principal } from '../domain/workspace';

declare global {
  namespace Express {
    interface Request {
      id: string;
      log: Logger;
      principal?: Principal;
    }
  }
}

export {};
