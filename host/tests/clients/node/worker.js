// Node.js `gearman` (npm) worker for the integration tests: `rev` reverses the payload, `fail`
// sends WORK_FAIL, `boom` sends WORK_EXCEPTION. Runs until killed.  Usage: node worker.js PORT
'use strict'
const gearman = require('gearman')

const port = Number(process.argv[2])
const worker = gearman('127.0.0.1', port)

worker.on('JOB_ASSIGN', (job) => {
  if (job.func_name === 'rev') {
    worker.sendWorkComplete(job.handle, job.payload.toString().split('').reverse().join(''))
  } else if (job.func_name === 'boom') {
    worker.sendWorkException(job.handle, 'boom')
  } else {
    worker.sendWorkFail(job.handle)
  }
  worker.grabJob()
})
worker.on('NOOP', () => worker.grabJob())
worker.on('NO_JOB', () => worker.preSleep())
worker.connect(() => {
  worker.addFunction('rev')
  worker.addFunction('fail')
  worker.addFunction('boom')
  worker.preSleep()
})
