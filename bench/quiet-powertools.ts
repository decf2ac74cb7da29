/**
 * Imported first by in-process benches: Powertools reads these when its instances are created at
 * import time, so they must be set before any handler module loads (import order, not statement order).
 */
process.env.POWERTOOLS_DEV = 'false';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_TRACE_ENABLED = 'false';
