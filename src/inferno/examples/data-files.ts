// Small data files shipped with the example rules (written next to them by `--example-rules DIR`).

/** D1: twelve people as JSON lines (spec §14). */
export const NAMES_JSON = [
  ['Homer', 'Simpson'], ['Manjula', 'Nahasapeemapetilon'], ['Herbert', 'Powell'], ['Ruth', 'Powell'],
  ['Bart', 'Simpson'], ['Apu', 'Nahasapeemapetilon'], ['Marge', 'Simpson'], ['Janey', 'Powell'],
  ['Maggie', 'Simpson'], ['Sanjay', 'Nahasapeemapetilon'], ['Lisa', 'Simpson'], ['Maggie', 'Términos'],
].map(([first, last]) => JSON.stringify({ first, last }) + '\n').join('')

/** D1c: the same people as header-less CSV `first,last`. */
export const NAMES_CSV = NAMES_JSON.split('\n').filter(Boolean).map((l) => {
  const p = JSON.parse(l) as { first: string; last: string }
  return `${p.first},${p.last}\n`
}).join('')

/** A sample of the FEC 2012 presidential contributions file: the header line and 7 rows (IN-06). */
export const ELECTION_CSV = [
  'cmte_id,cand_id,cand_nm,contbr_nm,contbr_city,contbr_st,contbr_zip,contbr_employer,contbr_occupation,contb_receipt_amt,contb_receipt_dt,receipt_desc,memo_cd,memo_text,form_tp,file_num',
  'C00500587,P20002978,"Bachmann, Michelle","HARVEY, WILLIAM",MOBILE,AL,366010290,RETIRED,RETIRED,250,20-JUN-11,,,,SA17A,736166',
  'C00431171,P80003353,"Romney, Mitt","ELDERBAUM, WILLIAM",DPO,AA,340230183,US GOVERNMENT,RETIRED,100,01-FEB-12,,,,SA17A,780124',
  'C00431171,P80003353,"Romney, Mitt","CARLSEN, RICHARD",APO,AE,091280020,DEFENSE INTELLIGENCE AGENCY,Retired.,50.5,10-FEB-12,,,,SA17A,780124',
  'C00431445,P80003338,"Obama, Barack","ROSS, ALAN",SEATTLE,WA,981022104,BOEING,ENGINEER,25,05-JAN-12,,,,SA17A,756218',
  'C00431445,P80003338,"Obama, Barack","MILLER, JOAN",TUCSON,AZ,857151234,NONE,RETIRED,75.25,17-JAN-12,,,,SA17A,756218',
  'C00431445,P80003338,"Obama, Barack","MILLER, JOAN",TUCSON,AZ,857151234,NONE,RETIRED,-20,20-JAN-12,Refund,,,SB28A,756218',
  'C00496034,P20002721,"Santorum, Rick","LUND, JANE",DENVER,CO,802021111,,,10,03-FEB-12,,,,SA17A,779111',
].map((l) => l + '\n').join('')

/** File name → contents, as written by `--example-rules DIR`. */
export const EXAMPLE_DATA_FILES: Readonly<Record<string, string>> = Object.freeze({
  'names.json': NAMES_JSON,
  'names.csv': NAMES_CSV,
  'election.csv': ELECTION_CSV,
})
