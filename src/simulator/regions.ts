/**
 * Regions with their utilities: cities (real ZIP codes), tariffs, load-serving entities, programs,
 * market group stems and load zones. A meter stores a region index into REGIONS and a utility
 * index into UTILITY_REFS.
 */
import type { RegionCode } from './catalog';

export interface City {
  name: string;
  state: string;
  zips: readonly string[];
  areaCode: string;
}

export interface UtilityInfo {
  code: string;
  weight: number;
  cities: readonly City[];
  tariffs: readonly string[];
  commercialTariffs: readonly string[];
  /** Load-serving entities customers buy from (CCAs in California, retail providers in Texas). */
  lse: readonly string[];
  /** Account number layout: `#` is a digit. */
  account: string;
  /** Programs, the primary first. */
  programs: readonly string[];
  /** Market group name stems (sub-LAPs, zones); a two-digit suffix is added per simulator. */
  groupStems: readonly string[];
  loadZones: readonly string[];
}

export interface RegionInfo {
  code: RegionCode;
  weight: number;
  /** Standard-time offset from UTC in hours, and whether US daylight saving applies. */
  stdOffsetHours: number;
  dst: boolean;
  utilities: readonly UtilityInfo[];
}

const c = (name: string, state: string, zips: string[], areaCode: string): City => ({ name, state, zips, areaCode });

export const REGIONS: readonly RegionInfo[] = [
  {
    code: 'CAISO',
    weight: 35,
    stdOffsetHours: -8,
    dst: true,
    utilities: [
      {
        code: 'PGE',
        weight: 50,
        cities: [
          c('San Francisco', 'CA', ['94103', '94110', '94114', '94117', '94122'], '415'),
          c('Oakland', 'CA', ['94606', '94610', '94611', '94618'], '510'),
          c('San Jose', 'CA', ['95112', '95120', '95125', '95128'], '408'),
          c('Fresno', 'CA', ['93704', '93711', '93720'], '559'),
          c('Berkeley', 'CA', ['94703', '94705', '94709'], '510'),
          c('Santa Rosa', 'CA', ['95404', '95405'], '707'),
          c('San Mateo', 'CA', ['94401', '94402', '94403'], '650'),
          c('Walnut Creek', 'CA', ['94596', '94597', '94598'], '925'),
        ],
        tariffs: ['E-TOU-C', 'E-TOU-D', 'EV2-A', 'E-ELEC', 'E-1'],
        commercialTariffs: ['B-1', 'B-6', 'B-10', 'B-19'],
        lse: ['PGE', 'MCE', 'SVCE', 'EBCE', 'SJCE'],
        account: '##########',
        programs: ['CCA', 'DRAM', 'CEC-DSGS', 'ELRP'],
        groupStems: ['PGSB_1_PDRP', 'PGEB_1_PDRP', 'PGSF_1_PDRP', 'PGP2_1_PDRP', 'PGF1_1_PDRP'],
        loadZones: ['DLAP_PGAE-APND'],
      },
      {
        code: 'SCE',
        weight: 35,
        cities: [
          c('Irvine', 'CA', ['92614', '92618', '92620'], '949'),
          c('Long Beach', 'CA', ['90803', '90804', '90815'], '562'),
          c('Santa Monica', 'CA', ['90401', '90403', '90405'], '310'),
          c('Huntington Beach', 'CA', ['92646', '92647', '92648'], '714'),
          c('Ontario', 'CA', ['91761', '91762', '91764'], '909'),
          c('Thousand Oaks', 'CA', ['91360', '91362'], '805'),
          c('Santa Barbara', 'CA', ['93101', '93103', '93105'], '805'),
        ],
        tariffs: ['TOU-D-4-9PM', 'TOU-D-5-8PM', 'TOU-D-PRIME', 'D'],
        commercialTariffs: ['TOU-GS-1', 'TOU-GS-2', 'TOU-8'],
        lse: ['SCE', 'CPA', 'OCPA'],
        account: '############',
        programs: ['CCA', 'DRAM', 'CEC-DSGS', 'ELRP'],
        groupStems: ['SCEC_2_PDRP', 'SCEW_2_PDRP', 'SCNW_2_PDRP', 'SCLD_2_PDRP'],
        loadZones: ['DLAP_SCE-APND'],
      },
      {
        code: 'SDGE',
        weight: 15,
        cities: [
          c('San Diego', 'CA', ['92101', '92103', '92104', '92109', '92117'], '619'),
          c('Chula Vista', 'CA', ['91910', '91911', '91913'], '619'),
          c('Oceanside', 'CA', ['92054', '92056', '92057'], '760'),
          c('Escondido', 'CA', ['92025', '92026', '92027'], '760'),
          c('Carlsbad', 'CA', ['92008', '92009', '92011'], '760'),
        ],
        tariffs: ['TOU-DR1', 'EV-TOU-5', 'TOU-ELEC', 'DR'],
        commercialTariffs: ['TOU-A', 'AL-TOU'],
        lse: ['SDGE', 'SDCP'],
        account: '############',
        programs: ['DRAM', 'CCA', 'ELRP', 'CEC-DSGS'],
        groupStems: ['SDG1_1_PDRP', 'SDG1_2_PDRP'],
        loadZones: ['DLAP_SDGE-APND'],
      },
    ],
  },
  {
    code: 'NYISO',
    weight: 12,
    stdOffsetHours: -5,
    dst: true,
    utilities: [
      {
        code: 'CECONY',
        weight: 60,
        cities: [
          c('New York', 'NY', ['10001', '10011', '10024', '10025', '10128'], '212'),
          c('Brooklyn', 'NY', ['11201', '11215', '11217', '11238'], '718'),
          c('Bronx', 'NY', ['10463', '10471'], '718'),
          c('Astoria', 'NY', ['11103', '11105'], '718'),
          c('Yonkers', 'NY', ['10701', '10705'], '914'),
          c('White Plains', 'NY', ['10601', '10605'], '914'),
        ],
        tariffs: ['EL1', 'EL1-VTOU', 'SC1 Rate III'],
        commercialTariffs: ['SC9 Rate I', 'SC9 Rate II', 'EL9'],
        lse: ['CECONY'],
        account: '###############',
        programs: ['CONED-CSRP', 'NYISO-SCR', 'CONED-DLRP'],
        groupStems: ['NYC_ZONE_J_SCR_', 'DUNWOD_ZONE_I_SCR_', 'MILLWD_ZONE_H_SCR_'],
        loadZones: ['N.Y.C.', 'DUNWOD', 'MILLWD'],
      },
      {
        code: 'NATGRID',
        weight: 40,
        cities: [
          c('Syracuse', 'NY', ['13206', '13210', '13224'], '315'),
          c('Albany', 'NY', ['12203', '12208', '12209'], '518'),
          c('Buffalo', 'NY', ['14216', '14222', '14226'], '716'),
          c('Schenectady', 'NY', ['12305', '12309'], '518'),
          c('Troy', 'NY', ['12180', '12182'], '518'),
        ],
        tariffs: ['SC1', 'SC1-C'],
        commercialTariffs: ['SC2-D', 'SC3'],
        lse: ['NATGRID'],
        account: '##########',
        programs: ['NYISO-SCR'],
        groupStems: ['CENTRL_ZONE_C_SCR_', 'CAPITL_ZONE_F_SCR_', 'WEST_ZONE_A_SCR_'],
        loadZones: ['CENTRL', 'CAPITL', 'WEST'],
      },
    ],
  },
  {
    code: 'ISONE',
    weight: 10,
    stdOffsetHours: -5,
    dst: true,
    utilities: [
      {
        code: 'EVERSOURCE',
        weight: 55,
        cities: [
          c('Boston', 'MA', ['02116', '02127', '02130', '02135'], '617'),
          c('Cambridge', 'MA', ['02138', '02139', '02140'], '617'),
          c('Springfield', 'MA', ['01104', '01108', '01109'], '413'),
          c('Hartford', 'CT', ['06105', '06106', '06114'], '860'),
          c('Stamford', 'CT', ['06902', '06903', '06905'], '203'),
          c('Manchester', 'NH', ['03102', '03103', '03104'], '603'),
        ],
        tariffs: ['R-1', 'R-2', 'R-3'],
        commercialTariffs: ['G-1', 'G-2', 'G-3'],
        lse: ['EVERSOURCE'],
        account: '###########',
        programs: ['EVERSOURCE-CS'],
        groupStems: ['NEMA_BOSTON_CS_', 'WCMA_CS_', 'CT_CS_', 'NH_CS_'],
        loadZones: ['NEMA', 'WCMA', 'CT', 'NH'],
      },
      {
        code: 'NATGRID',
        weight: 45,
        cities: [
          c('Worcester', 'MA', ['01602', '01605', '01609'], '508'),
          c('Lowell', 'MA', ['01852', '01854'], '978'),
          c('Quincy', 'MA', ['02169', '02170', '02171'], '617'),
          c('Brockton', 'MA', ['02301', '02302'], '508'),
          c('Salem', 'MA', ['01970'], '978'),
        ],
        tariffs: ['R-1', 'R-2'],
        commercialTariffs: ['G-1', 'G-2', 'G-3'],
        lse: ['NATGRID'],
        account: '##########',
        programs: ['NATGRID-CS'],
        groupStems: ['SEMA_CS_', 'WCMA_NG_CS_', 'NEMA_NG_CS_'],
        loadZones: ['SEMA', 'WCMA', 'NEMA'],
      },
    ],
  },
  {
    code: 'ERCOT',
    weight: 15,
    stdOffsetHours: -6,
    dst: true,
    utilities: [
      {
        code: 'ONCOR',
        weight: 55,
        cities: [
          c('Dallas', 'TX', ['75204', '75206', '75214', '75230'], '214'),
          c('Fort Worth', 'TX', ['76107', '76109', '76110'], '817'),
          c('Plano', 'TX', ['75024', '75025', '75093'], '972'),
          c('Arlington', 'TX', ['76010', '76013', '76016'], '817'),
          c('Waco', 'TX', ['76706', '76710'], '254'),
          c('Midland', 'TX', ['79705', '79707'], '432'),
        ],
        tariffs: ['Residential Service', 'Residential Service - Time of Use'],
        commercialTariffs: ['Secondary Service > 10 kW', 'Primary Service'],
        lse: ['TXU Energy', 'Reliant', 'Green Mountain Energy'],
        account: '10443720#########',
        programs: ['ERCOT-ERS', 'ONCOR-CLM'],
        groupStems: ['ERS_NORTH_30MIN_', 'ERS_WEST_30MIN_'],
        loadZones: ['LZ_NORTH', 'LZ_WEST'],
      },
      {
        code: 'CENTERPOINT',
        weight: 45,
        cities: [
          c('Houston', 'TX', ['77007', '77008', '77019', '77056', '77098'], '713'),
          c('Sugar Land', 'TX', ['77478', '77479'], '281'),
          c('Pasadena', 'TX', ['77504', '77505'], '713'),
          c('Katy', 'TX', ['77450', '77494'], '281'),
          c('Baytown', 'TX', ['77520', '77521'], '281'),
        ],
        tariffs: ['Residential Service', 'Residential Service - Time of Use'],
        commercialTariffs: ['Secondary Voltage > 10 kVA', 'Primary Voltage'],
        lse: ['Reliant', 'Direct Energy', 'Octopus Energy'],
        account: '1008901###############',
        programs: ['ERCOT-ERS'],
        groupStems: ['ERS_HOUSTON_30MIN_', 'ERS_HOUSTON_10MIN_'],
        loadZones: ['LZ_HOUSTON'],
      },
    ],
  },
  {
    code: 'PJM',
    weight: 18,
    stdOffsetHours: -5,
    dst: true,
    utilities: [
      {
        code: 'COMED',
        weight: 45,
        cities: [
          c('Chicago', 'IL', ['60614', '60618', '60625', '60647', '60657'], '773'),
          c('Evanston', 'IL', ['60201', '60202'], '847'),
          c('Naperville', 'IL', ['60540', '60563', '60565'], '630'),
          c('Aurora', 'IL', ['60505', '60506'], '630'),
          c('Rockford', 'IL', ['61107', '61108'], '815'),
        ],
        tariffs: ['BES-RES', 'RTP'],
        commercialTariffs: ['BES-NRES', 'RDS'],
        lse: ['COMED', 'Constellation'],
        account: '##########',
        programs: ['PJM-CAPACITY'],
        groupStems: ['COMED_ZONE_CAP_'],
        loadZones: ['COMED'],
      },
      {
        code: 'PECO',
        weight: 30,
        cities: [
          c('Philadelphia', 'PA', ['19103', '19104', '19130', '19146', '19147'], '215'),
          c('Norristown', 'PA', ['19401', '19403'], '610'),
          c('West Chester', 'PA', ['19380', '19382'], '610'),
          c('Chester', 'PA', ['19013'], '610'),
        ],
        tariffs: ['R', 'RH'],
        commercialTariffs: ['GS', 'PD'],
        lse: ['PECO', 'Constellation'],
        account: '#####-#####',
        programs: ['PJM-CAPACITY'],
        groupStems: ['PECO_ZONE_CAP_'],
        loadZones: ['PECO'],
      },
      {
        code: 'BGE',
        weight: 25,
        cities: [
          c('Baltimore', 'MD', ['21201', '21211', '21218', '21224', '21230'], '410'),
          c('Columbia', 'MD', ['21044', '21045'], '410'),
          c('Towson', 'MD', ['21204', '21286'], '410'),
          c('Annapolis', 'MD', ['21401', '21403'], '410'),
        ],
        tariffs: ['R', 'RL'],
        commercialTariffs: ['G', 'GS'],
        lse: ['BGE', 'Constellation'],
        account: '##########',
        programs: ['PJM-CAPACITY'],
        groupStems: ['BGE_ZONE_CAP_'],
        loadZones: ['BGE'],
      },
    ],
  },
  {
    code: 'SERC',
    weight: 4,
    stdOffsetHours: -6,
    dst: true,
    utilities: [
      {
        code: 'TVA',
        weight: 100,
        cities: [
          c('Knoxville', 'TN', ['37919', '37920', '37922'], '865'),
          c('Chattanooga', 'TN', ['37405', '37415'], '423'),
          c('Huntsville', 'AL', ['35801', '35802', '35806'], '256'),
          c('Memphis', 'TN', ['38104', '38111', '38117'], '901'),
        ],
        tariffs: ['RS', 'RS-TOU'],
        commercialTariffs: ['GSA1', 'GSA2'],
        lse: ['TVA'],
        account: '##########',
        programs: ['TVA-RPO'],
        groupStems: ['TVA_RPO_'],
        loadZones: ['TVA'],
      },
    ],
  },
  {
    code: 'WECC_SW',
    weight: 3,
    // Arizona keeps standard time all year.
    stdOffsetHours: -7,
    dst: false,
    utilities: [
      {
        code: 'SRP',
        weight: 100,
        cities: [
          c('Phoenix', 'AZ', ['85004', '85016', '85018', '85020'], '602'),
          c('Tempe', 'AZ', ['85281', '85282', '85283'], '480'),
          c('Mesa', 'AZ', ['85201', '85203', '85205'], '480'),
          c('Chandler', 'AZ', ['85224', '85225', '85226'], '480'),
          c('Gilbert', 'AZ', ['85234', '85295'], '480'),
        ],
        tariffs: ['E-23', 'E-26', 'E-27'],
        commercialTariffs: ['E-32', 'E-36'],
        lse: ['SRP'],
        account: '#########',
        programs: ['SRP-RPO'],
        groupStems: ['SRP_RPO_'],
        loadZones: ['SRP'],
      },
    ],
  },
  {
    code: 'WECC_PC',
    weight: 3,
    stdOffsetHours: -8,
    dst: true,
    utilities: [
      {
        code: 'PSE',
        weight: 100,
        cities: [
          c('Bellevue', 'WA', ['98004', '98005', '98006'], '425'),
          c('Kirkland', 'WA', ['98033', '98034'], '425'),
          c('Olympia', 'WA', ['98501', '98502'], '360'),
          c('Bellingham', 'WA', ['98225', '98226'], '360'),
          c('Redmond', 'WA', ['98052', '98053'], '425'),
        ],
        tariffs: ['Schedule 7', 'Schedule 307'],
        commercialTariffs: ['Schedule 24', 'Schedule 25'],
        lse: ['PSE'],
        account: '############',
        programs: ['PSE-RPO'],
        groupStems: ['PSE_RPO_'],
        loadZones: ['PSEI'],
      },
    ],
  },
];

/** Every (region, utility) pair, indexed by the utility code a meter stores. */
export interface UtilityRef {
  region: number;
  utility: UtilityInfo;
}
export const UTILITY_REFS: readonly UtilityRef[] = REGIONS.flatMap((r, region) => r.utilities.map((utility) => ({ region, utility })));
