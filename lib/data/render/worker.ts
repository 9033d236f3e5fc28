/** Worker side of renderDataset (./dataset.ts): renders and writes the images it is sent, one at a time. */
import { serveWorkerCalls } from '../../engine/pool_worker';
import { RenderJob, runRenderJob } from './job';

serveWorkerCalls({
  render: (job: RenderJob) => {
    runRenderJob(job);
    return { value: null };
  },
});
