/** aedes-persistence's in-memory store without its callback wrapper (types ship in types/, not beside it). */
declare module 'aedes-persistence/asyncPersistence.js' {
  import MemoryPersistence = require('aedes-persistence/types/asyncPersistence');
  export default MemoryPersistence;
}
