// Public API of lib/evaluate (re-exported by lib/index.ts).
export {};
