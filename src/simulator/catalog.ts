/**
 * Static reference data the simulated portfolio is drawn from: regions with their utilities,
 * cities (real ZIP codes), tariffs, programs with delivery periods, market groups, devices,
 * names and Leap's action codes. Codes marked "made up" are not in any public Leap material.
 */

export const REGION_CODES = ['CAISO', 'ERCOT', 'NYISO', 'ISONE', 'PJM', 'SERC', 'WECC_SW', 'WECC_PC'] as const;
export type RegionCode = (typeof REGION_CODES)[number];

export const STATUS_CODES = ['PENDING', 'ELIGIBLE', 'ACTIVE', 'INELIGIBLE', 'NOT_PARTICIPATING'] as const;
export type StatusName = (typeof STATUS_CODES)[number];
export const PENDING = 0;
export const ELIGIBLE = 1;
export const ACTIVE = 2;
export const INELIGIBLE = 3;
export const NOT_PARTICIPATING = 4;
/** Leap v1 wrote statuses in title case. */
export const V1_STATUS = ['Pending', 'Eligible', 'Active', 'Ineligible', 'Not Participating'] as const;

export const PREFERENCES = ['PARTICIPATE', 'IDLE', 'DISENROLL'] as const;
export type PreferenceName = (typeof PREFERENCES)[number];
export const V1_PREFERENCE = ['Participate', 'Idle', 'Disenroll'] as const;

export const METER_TYPE_CODES = ['UTILITY_METER', 'DEVICE', 'SUBMETER'] as const;
export type MeterTypeName = (typeof METER_TYPE_CODES)[number];
export const CLASSIFICATIONS = ['RESIDENTIAL', 'COMMERCIAL'] as const;
export const CREATED_BY = ['UTILITY', 'PARTNER', 'LEAP'] as const;

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

/**
 * A season of a program: delivery periods start at `startMonth` (1-12) and last `months`.
 * Monthly programs have twelve one-month seasons.
 */
export interface ProgramInfo {
  id: string;
  periodPrefix: string;
  seasons: readonly { startMonth: number; months: number }[];
}

const MONTHLY = Array.from({ length: 12 }, (_, i) => ({ startMonth: i + 1, months: 1 }));

export const PROGRAMS: Readonly<Record<string, ProgramInfo>> = {
  CCA: { id: 'CCA', periodPrefix: 'CAISO-CCA', seasons: MONTHLY },
  DRAM: { id: 'DRAM', periodPrefix: 'CAISO-DRAM', seasons: MONTHLY },
  ELRP: { id: 'ELRP', periodPrefix: 'CAISO-ELRP', seasons: [{ startMonth: 5, months: 6 }, { startMonth: 11, months: 6 }] },
  'CEC-DSGS': { id: 'CEC-DSGS', periodPrefix: 'CEC-DSGS', seasons: [{ startMonth: 5, months: 6 }, { startMonth: 11, months: 6 }] },
  'NYISO-SCR': { id: 'NYISO-SCR', periodPrefix: 'NYISO-SCR', seasons: [{ startMonth: 5, months: 6 }, { startMonth: 11, months: 6 }] },
  'CONED-CSRP': { id: 'CONED-CSRP', periodPrefix: 'CONED-CSRP', seasons: [{ startMonth: 5, months: 5 }, { startMonth: 10, months: 7 }] },
  'CONED-DLRP': { id: 'CONED-DLRP', periodPrefix: 'CONED-DLRP', seasons: [{ startMonth: 5, months: 5 }, { startMonth: 10, months: 7 }] },
  'NATGRID-CS': { id: 'NATGRID-CS', periodPrefix: 'NATGRID-CS', seasons: [{ startMonth: 6, months: 4 }, { startMonth: 10, months: 8 }] },
  'EVERSOURCE-CS': { id: 'EVERSOURCE-CS', periodPrefix: 'EVERSOURCE-CS', seasons: [{ startMonth: 6, months: 4 }, { startMonth: 10, months: 8 }] },
  'ERCOT-ERS': {
    id: 'ERCOT-ERS',
    periodPrefix: 'ERCOT-ERS',
    seasons: [
      { startMonth: 2, months: 4 },
      { startMonth: 6, months: 4 },
      { startMonth: 10, months: 4 },
    ],
  },
  'ONCOR-CLM': { id: 'ONCOR-CLM', periodPrefix: 'ONCOR-CLM', seasons: [{ startMonth: 6, months: 4 }, { startMonth: 10, months: 8 }] },
  'PJM-CAPACITY': { id: 'PJM-CAPACITY', periodPrefix: 'PJM-CAPACITY', seasons: [{ startMonth: 6, months: 12 }] },
  'TVA-RPO': { id: 'TVA-RPO', periodPrefix: 'TVA-RPO', seasons: [{ startMonth: 1, months: 12 }] },
  'SRP-RPO': { id: 'SRP-RPO', periodPrefix: 'SRP-RPO', seasons: [{ startMonth: 1, months: 12 }] },
  'PSE-RPO': { id: 'PSE-RPO', periodPrefix: 'PSE-RPO', seasons: [{ startMonth: 1, months: 12 }] },
};

export const MONTH_ABBR = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;

/** Partner-side required actions; the bit is what a meter stores. */
export interface ActionInfo {
  bit: number;
  code: string;
  actionType: string;
}
export const PARTNER_ACTIONS: readonly ActionInfo[] = [
  { bit: 1, code: 'AUTH_0001', actionType: 'IS_AUTHORIZED' },
  { bit: 2, code: 'SERV_0005', actionType: 'NO_MISSING_FIELDS' },
  // Made up: Leap publishes no MRKT_ codes; this one stands for a conflicting-program enrollment.
  { bit: 4, code: 'MRKT_0002', actionType: 'NOT_ENROLLED_IN_CONFLICTING_PROGRAM' },
];
export const AUTH_0001 = 1;
export const SERV_0005 = 2;
export const MRKT_0002 = 4;
export const PARTNER_ACTION_CODES = ['AUTH_0001', 'SERV_0005', 'MRKT_0002'] as const;
export type PartnerActionCode = (typeof PARTNER_ACTION_CODES)[number];

export const AUTH_0001_DESCRIPTION = 'End customer must re-authorize meter. Learn more in our partner guide';
export const MRKT_0002_DESCRIPTION = 'Meter is enrolled in a conflicting program';

/** Leap-side actions. */
export const LEAP_0001 = 1;
// Made up: stands for an ISO market registration Leap is still waiting on.
export const MRKT_0001 = 2;
export const LEAP_0001_UNASSIGNED = 'The meter is not enrolled in the program';
export const LEAP_0001_NOMINATIONS = 'This meter does not have nominations set';
export const MRKT_0001_DESCRIPTION = 'Market registration for this meter is in progress with the ISO';

export const DEVICE_TYPES = [
  'BATTERY',
  'GENERATOR',
  'EV',
  'EV_CHARGER',
  'BIDIRECTIONAL_EV_CHARGER',
  'SMART_THERMOSTAT',
  'AIR_CONDITIONER',
  'HEAT_PUMP',
] as const;
export type DeviceTypeName = (typeof DEVICE_TYPES)[number];

export interface DeviceModel {
  type: DeviceTypeName;
  manufacturer: string;
  model: string;
  serialPrefix: string;
  powerKw?: number;
  energyKwh?: number;
  evseLevel?: 'EVSE_LEVEL_1' | 'EVSE_LEVEL_2';
  fuel?: 'DIESEL' | 'NATURAL_GAS';
}

export const DEVICE_MODELS: readonly DeviceModel[] = [
  { type: 'BATTERY', manufacturer: 'Tesla', model: 'Powerwall 2', serialPrefix: 'TG12', powerKw: 5, energyKwh: 13.5 },
  { type: 'BATTERY', manufacturer: 'Tesla', model: 'Powerwall 3', serialPrefix: 'TG13', powerKw: 11.5, energyKwh: 13.5 },
  { type: 'BATTERY', manufacturer: 'Enphase', model: 'IQ Battery 5P', serialPrefix: 'EN5P', powerKw: 3.84, energyKwh: 5 },
  { type: 'BATTERY', manufacturer: 'Enphase', model: 'IQ Battery 10T', serialPrefix: 'EN10', powerKw: 3.84, energyKwh: 10.08 },
  { type: 'BATTERY', manufacturer: 'LG Energy Solution', model: 'RESU 16H Prime', serialPrefix: 'LGR16', powerKw: 7, energyKwh: 16 },
  { type: 'BATTERY', manufacturer: 'FranklinWH', model: 'aPower 2', serialPrefix: 'FWH2', powerKw: 10, energyKwh: 15 },
  { type: 'BATTERY', manufacturer: 'SolarEdge', model: 'Home Battery 10kWh', serialPrefix: 'SEHB', powerKw: 5, energyKwh: 9.7 },
  { type: 'BATTERY', manufacturer: 'Generac', model: 'PWRcell M6', serialPrefix: 'GPWM6', powerKw: 7.6, energyKwh: 18 },
  { type: 'SMART_THERMOSTAT', manufacturer: 'ecobee', model: 'Smart Thermostat Premium', serialPrefix: 'EB4' },
  { type: 'SMART_THERMOSTAT', manufacturer: 'Google Nest', model: 'Learning Thermostat (4th gen)', serialPrefix: '09AA' },
  { type: 'SMART_THERMOSTAT', manufacturer: 'Honeywell Home', model: 'T9', serialPrefix: 'RCHT' },
  { type: 'SMART_THERMOSTAT', manufacturer: 'Emerson', model: 'Sensi Touch 2', serialPrefix: 'ST76' },
  { type: 'EV_CHARGER', manufacturer: 'ChargePoint', model: 'Home Flex', serialPrefix: 'CPH50', powerKw: 9.6, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Wallbox', model: 'Pulsar Plus', serialPrefix: 'WBPP', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Enphase', model: 'IQ EV Charger 2', serialPrefix: 'ENEV2', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Emporia', model: 'Pro Charger', serialPrefix: 'EMPC', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'EV_CHARGER', manufacturer: 'Lectron', model: 'Portable Level 1', serialPrefix: 'LCL1', powerKw: 1.4, evseLevel: 'EVSE_LEVEL_1' },
  { type: 'EV', manufacturer: 'Tesla', model: 'Model Y', serialPrefix: '7SAYG', energyKwh: 75 },
  { type: 'EV', manufacturer: 'Ford', model: 'F-150 Lightning', serialPrefix: '1FTVW', energyKwh: 131 },
  { type: 'EV', manufacturer: 'Hyundai', model: 'Ioniq 5', serialPrefix: 'KM8KR', energyKwh: 77.4 },
  { type: 'BIDIRECTIONAL_EV_CHARGER', manufacturer: 'Ford', model: 'Charge Station Pro', serialPrefix: 'FCSP', powerKw: 19.2, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'BIDIRECTIONAL_EV_CHARGER', manufacturer: 'Wallbox', model: 'Quasar 2', serialPrefix: 'WBQ2', powerKw: 11.5, evseLevel: 'EVSE_LEVEL_2' },
  { type: 'HEAT_PUMP', manufacturer: 'Mitsubishi Electric', model: 'Hyper-Heat H2i', serialPrefix: 'MXZ', powerKw: 4.2 },
  { type: 'HEAT_PUMP', manufacturer: 'Daikin', model: 'Fit DZ6VS', serialPrefix: 'DZ6', powerKw: 5.1 },
  { type: 'AIR_CONDITIONER', manufacturer: 'Trane', model: 'XR16', serialPrefix: 'TR4TTR', powerKw: 3.5 },
  { type: 'AIR_CONDITIONER', manufacturer: 'Lennox', model: 'EL16XC1', serialPrefix: 'LNX58', powerKw: 3.8 },
  { type: 'GENERATOR', manufacturer: 'Generac', model: 'Guardian 24kW', serialPrefix: 'GNG24', powerKw: 24, fuel: 'NATURAL_GAS' },
  { type: 'GENERATOR', manufacturer: 'Kohler', model: '20RESCL', serialPrefix: 'KOH20', powerKw: 20, fuel: 'NATURAL_GAS' },
  { type: 'GENERATOR', manufacturer: 'Cummins', model: 'C150D6', serialPrefix: 'CUMD6', powerKw: 150, fuel: 'DIESEL' },
];

export const INSTALLERS = ['Sunrun', 'SunPower by Blue Raven', 'Freedom Forever', 'Momentum Solar', 'Baker Electric', 'Palmetto', 'Local Electric Co.'];

export const FIRST_NAMES = [
  'Jordan', 'Maria', 'James', 'Aisha', 'Wei', 'Priya', 'Carlos', 'Emily', 'Noah', 'Sofia',
  'Liam', 'Olivia', 'Mateo', 'Hannah', 'Ethan', 'Chloé', 'Lucas', 'Grace', 'Mohammed', 'Zoë',
  'Daniel', 'Fatima', 'Benjamin', 'Mei', 'Samuel', 'Isabella', 'David', 'Ana', 'Kenji', 'Rachel',
  'Thomas', 'Nadia', 'Michael', 'Laura', 'José', 'Amara', 'Ryan', 'Yuki', 'Andrew', 'Leah',
];
export const LAST_NAMES = [
  'Lee', 'Garcia', 'Smith', 'Nguyen', 'Patel', 'Johnson', 'Martinez', 'Chen', 'Williams', 'Kim',
  'Brown', 'Rodriguez', 'Davis', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson',
  'Okafor', 'Hernández', 'Müller', 'Cohen', 'Schwartz', "O'Brien", 'Rossi', 'Tanaka', 'Singh', 'Kowalski',
  'Murphy', 'Rivera', 'Campbell', 'Nakamura', 'Fischer', 'Bennett', 'Haddad', 'Ivanova', 'Park', 'Dubois',
];
export const TITLES = ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Mx.'];
export const COMPANIES = [
  'Bayside Cold Storage LLC', 'Harbor Point Logistics Inc.', 'Summit Ridge Apartments', 'Greenfield Grocers',
  'Oakmont Medical Plaza', 'Riverbend Unified School District', 'Pioneer Water Works', 'Lakeside Manufacturing Co.',
  'Northgate Self Storage', 'Cedar Valley Farms', 'Metro Fitness Club', 'Sunrise Senior Living',
];
export const STREETS = [
  'Mission St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Elm St', 'Park Blvd', 'Lakeview Rd', 'Sunset Ave',
  'Washington St', 'Lincoln Ave', 'Highland Ave', 'Spring St', 'Main St', 'Church St', 'Hillcrest Dr',
  'Meadow Ln', 'Ridge Rd', 'Willow Way', 'Chestnut St', 'Jefferson Ave', 'Broadway', 'Pine St',
  'Franklin St', 'Valley View Rd', 'Harbor Dr', 'River Rd', 'Forest Ave', 'Grand Ave', 'College Ave', 'Walnut St',
];
export const UNITS = ['Apt 4B', 'Unit 12', 'Suite 300', '#5', 'Apt 2', 'Unit B', 'Floor 3'];
export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];
export const OFFERINGS = ['Home Battery Rewards', 'Smart Thermostat Savings', 'EV Charging Rewards', 'Commercial Flex Program'];

/** Load-type combinations a meter can have; a meter stores the index. */
export const LOAD_TYPE_SETS: readonly (readonly string[])[] = [
  ['HVAC'],
  ['BATTERY_STORAGE'],
  ['EV_CHARGING'],
  ['GENERATION'],
  ['HVAC', 'LIGHTING'],
  ['COLD_STORAGE', 'LIGHTING'],
  ['BUILDING_AUTOMATION', 'HVAC'],
  ['PUMPING'],
  ['HVAC', 'MANUFACTURING'],
  ['WATER_HEATING'],
  ['BATTERY_STORAGE', 'GENERATION'],
  ['OTHER'],
  ['EV_CHARGING', 'HVAC'],
  ['BATTERY_STORAGE', 'HVAC'],
];

export const TAG_SETS: readonly (readonly string[])[] = [[], ['summer-2025'], ['vip'], ['pilot', 'summer-2025'], ['battery-fleet'], ['multifamily'], ['pilot']];
export const TAG_SET_WEIGHTS = [60, 10, 5, 5, 10, 5, 5];
export const CUSTOMER_GROUPS = ['', 'Residential Batteries', 'Bay Area Pilot', 'Commercial HVAC', 'Fleet Chargers'];
export const CUSTOMER_GROUP_WEIGHTS = [70, 10, 5, 10, 5];

/** Far-future end times Leap uses for open-ended participation periods. */
export const OPEN_ENDED_SENTINELS = ['9000-12-31T23:59:59.999999999Z', '9000-01-01T00:00:00Z', '2099-12-31T00:00:00Z'];

export const IDLE_REASONS = ['Customer requested a pause', 'Device offline for maintenance', 'Customer travelling'];
export const DISENROLL_REASONS = ['Customer moved out', 'Customer cancelled the offering', 'Device removed'];
