import { openTestPGlite } from '../db/test-databases';
import { describeUsersRepositoryContract } from './users.repository.contract';

describeUsersRepositoryContract(openTestPGlite);
