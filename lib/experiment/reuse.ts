/**
 * Kernel-lifetime values for notebook cells. Re-executing a cell must neither reload what it already has
 * (a base model, a training session) nor leak the tensors of what it replaces: `reuse` keeps one value per
 * name, returns it while its key is unchanged, and disposes it when a new key replaces it.
 */
import { stableStringify } from '../util/hash';

interface Slot {
  key: string;
  value: unknown;
  dispose?: (value: unknown) => void;
}

const slots = new Map<string, Slot>();

/**
 * The value stored under `name` if it was made with the same `key` (any JSON-able description of its
 * inputs); otherwise disposes the old value (with its `dispose`) and stores `await create()`. The slot owns
 * the value: callers must not dispose it themselves.
 */
export async function reuse<T>(name: string, key: unknown, create: () => T | Promise<T>, dispose?: (value: T) => void): Promise<T> {
  const k = stableStringify(key);
  const slot = slots.get(name);
  if (slot && slot.key === k) return slot.value as T;
  releaseReused(name);
  const value = await create();
  slots.set(name, { key: k, value, dispose: dispose as ((value: unknown) => void) | undefined });
  return value;
}

/** Disposes and forgets the value under `name` (all values when no name is given). */
export function releaseReused(name?: string): void {
  const names = name === undefined ? [...slots.keys()] : [name];
  for (const n of names) {
    const slot = slots.get(n);
    if (!slot) continue;
    slots.delete(n);
    slot.dispose?.(slot.value);
  }
}

/** Names currently held (for tests and for a notebook's closing cell). */
export function reusedNames(): string[] {
  return [...slots.keys()];
}
