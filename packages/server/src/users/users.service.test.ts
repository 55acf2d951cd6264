import { openTestPGlite } from '../db/test-databases';
import { describeUsersServiceContract } from './users.service.contract';

describeUsersServiceContract(openTestPGlite);
