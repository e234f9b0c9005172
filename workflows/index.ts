// The workflow bundle's entry point: every workflow the workers register is exported here.
export { sendMessageWorkflow } from './send-message';
export { anomalyDetectorWorkflow } from './anomaly';
export { purgeSweepWorkflow } from './retention';
export { erasureWorkflow } from './erasure';
