// The workflow bundle's entry point: every workflow type the worker registers.
export { runWorkflow } from './run';
export { actionWorkflow } from './action';
export { webhookDeliveryWorkflow } from './webhook-delivery';
export { evalWorkflow } from './eval';
