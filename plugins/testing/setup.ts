// Backstage's test utilities are written for Jest and call the global `jest` (jest.fn() in
// mock services and contexts); Vitest's `vi` offers the same mock API.
import { vi } from 'vitest';

(globalThis as any).jest = vi;
