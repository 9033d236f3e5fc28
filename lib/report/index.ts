// Public API of lib/report (re-exported by lib/index.ts).
export {};
