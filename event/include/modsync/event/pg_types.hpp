#pragma once
// Built-in PostgreSQL type OIDs, named after pg_type.h (INT4OID → kInt4Oid, INT4ARRAYOID →
// kInt4ArrayOid). Taken from PostgreSQL 15's catalog data (postgres.bki); built-in OIDs are
// stable across releases, so these hold for every server modsync supports.

#include <cstdint>

namespace modsync::event::pg {

// Base, range and multirange types.
inline constexpr uint32_t kBoolOid = 16;
inline constexpr uint32_t kByteaOid = 17;
inline constexpr uint32_t kCharOid = 18;
inline constexpr uint32_t kNameOid = 19;
inline constexpr uint32_t kInt8Oid = 20;
inline constexpr uint32_t kInt2Oid = 21;
inline constexpr uint32_t kInt2VectorOid = 22;
inline constexpr uint32_t kInt4Oid = 23;
inline constexpr uint32_t kRegProcOid = 24;
inline constexpr uint32_t kTextOid = 25;
inline constexpr uint32_t kOidOid = 26;
inline constexpr uint32_t kTidOid = 27;
inline constexpr uint32_t kXidOid = 28;
inline constexpr uint32_t kCidOid = 29;
inline constexpr uint32_t kOidVectorOid = 30;
inline constexpr uint32_t kJsonOid = 114;
inline constexpr uint32_t kXmlOid = 142;
inline constexpr uint32_t kXid8Oid = 5069;
inline constexpr uint32_t kPointOid = 600;
inline constexpr uint32_t kLsegOid = 601;
inline constexpr uint32_t kPathOid = 602;
inline constexpr uint32_t kBoxOid = 603;
inline constexpr uint32_t kPolygonOid = 604;
inline constexpr uint32_t kLineOid = 628;
inline constexpr uint32_t kFloat4Oid = 700;
inline constexpr uint32_t kFloat8Oid = 701;
inline constexpr uint32_t kCircleOid = 718;
inline constexpr uint32_t kMoneyOid = 790;
inline constexpr uint32_t kMacaddrOid = 829;
inline constexpr uint32_t kInetOid = 869;
inline constexpr uint32_t kCidrOid = 650;
inline constexpr uint32_t kMacaddr8Oid = 774;
inline constexpr uint32_t kAclitemOid = 1033;
inline constexpr uint32_t kBpcharOid = 1042;
inline constexpr uint32_t kVarcharOid = 1043;
inline constexpr uint32_t kDateOid = 1082;
inline constexpr uint32_t kTimeOid = 1083;
inline constexpr uint32_t kTimestampOid = 1114;
inline constexpr uint32_t kTimestampTzOid = 1184;
inline constexpr uint32_t kIntervalOid = 1186;
inline constexpr uint32_t kTimeTzOid = 1266;
inline constexpr uint32_t kBitOid = 1560;
inline constexpr uint32_t kVarbitOid = 1562;
inline constexpr uint32_t kNumericOid = 1700;
inline constexpr uint32_t kRefcursorOid = 1790;
inline constexpr uint32_t kRegProcedureOid = 2202;
inline constexpr uint32_t kRegOperOid = 2203;
inline constexpr uint32_t kRegOperatorOid = 2204;
inline constexpr uint32_t kRegClassOid = 2205;
inline constexpr uint32_t kRegCollationOid = 4191;
inline constexpr uint32_t kRegTypeOid = 2206;
inline constexpr uint32_t kRegRoleOid = 4096;
inline constexpr uint32_t kRegNamespaceOid = 4089;
inline constexpr uint32_t kUuidOid = 2950;
inline constexpr uint32_t kPgLsnOid = 3220;
inline constexpr uint32_t kTsVectorOid = 3614;
inline constexpr uint32_t kGtsVectorOid = 3642;
inline constexpr uint32_t kTsQueryOid = 3615;
inline constexpr uint32_t kRegConfigOid = 3734;
inline constexpr uint32_t kRegDictionaryOid = 3769;
inline constexpr uint32_t kJsonbOid = 3802;
inline constexpr uint32_t kJsonPathOid = 4072;
inline constexpr uint32_t kTxidSnapshotOid = 2970;
inline constexpr uint32_t kPgSnapshotOid = 5038;
inline constexpr uint32_t kInt4RangeOid = 3904;
inline constexpr uint32_t kNumRangeOid = 3906;
inline constexpr uint32_t kTsRangeOid = 3908;
inline constexpr uint32_t kTstzRangeOid = 3910;
inline constexpr uint32_t kDateRangeOid = 3912;
inline constexpr uint32_t kInt8RangeOid = 3926;
inline constexpr uint32_t kInt4MultirangeOid = 4451;
inline constexpr uint32_t kNumMultirangeOid = 4532;
inline constexpr uint32_t kTsMultirangeOid = 4533;
inline constexpr uint32_t kTstzMultirangeOid = 4534;
inline constexpr uint32_t kDateMultirangeOid = 4535;
inline constexpr uint32_t kInt8MultirangeOid = 4536;

// Their array types (pg_type.typarray).
inline constexpr uint32_t kBoolArrayOid = 1000;
inline constexpr uint32_t kByteaArrayOid = 1001;
inline constexpr uint32_t kCharArrayOid = 1002;
inline constexpr uint32_t kNameArrayOid = 1003;
inline constexpr uint32_t kInt8ArrayOid = 1016;
inline constexpr uint32_t kInt2ArrayOid = 1005;
inline constexpr uint32_t kInt2VectorArrayOid = 1006;
inline constexpr uint32_t kInt4ArrayOid = 1007;
inline constexpr uint32_t kRegProcArrayOid = 1008;
inline constexpr uint32_t kTextArrayOid = 1009;
inline constexpr uint32_t kOidArrayOid = 1028;
inline constexpr uint32_t kTidArrayOid = 1010;
inline constexpr uint32_t kXidArrayOid = 1011;
inline constexpr uint32_t kCidArrayOid = 1012;
inline constexpr uint32_t kOidVectorArrayOid = 1013;
inline constexpr uint32_t kJsonArrayOid = 199;
inline constexpr uint32_t kXmlArrayOid = 143;
inline constexpr uint32_t kXid8ArrayOid = 271;
inline constexpr uint32_t kPointArrayOid = 1017;
inline constexpr uint32_t kLsegArrayOid = 1018;
inline constexpr uint32_t kPathArrayOid = 1019;
inline constexpr uint32_t kBoxArrayOid = 1020;
inline constexpr uint32_t kPolygonArrayOid = 1027;
inline constexpr uint32_t kLineArrayOid = 629;
inline constexpr uint32_t kFloat4ArrayOid = 1021;
inline constexpr uint32_t kFloat8ArrayOid = 1022;
inline constexpr uint32_t kCircleArrayOid = 719;
inline constexpr uint32_t kMoneyArrayOid = 791;
inline constexpr uint32_t kMacaddrArrayOid = 1040;
inline constexpr uint32_t kInetArrayOid = 1041;
inline constexpr uint32_t kCidrArrayOid = 651;
inline constexpr uint32_t kMacaddr8ArrayOid = 775;
inline constexpr uint32_t kAclitemArrayOid = 1034;
inline constexpr uint32_t kBpcharArrayOid = 1014;
inline constexpr uint32_t kVarcharArrayOid = 1015;
inline constexpr uint32_t kDateArrayOid = 1182;
inline constexpr uint32_t kTimeArrayOid = 1183;
inline constexpr uint32_t kTimestampArrayOid = 1115;
inline constexpr uint32_t kTimestampTzArrayOid = 1185;
inline constexpr uint32_t kIntervalArrayOid = 1187;
inline constexpr uint32_t kTimeTzArrayOid = 1270;
inline constexpr uint32_t kBitArrayOid = 1561;
inline constexpr uint32_t kVarbitArrayOid = 1563;
inline constexpr uint32_t kNumericArrayOid = 1231;
inline constexpr uint32_t kRefcursorArrayOid = 2201;
inline constexpr uint32_t kRegProcedureArrayOid = 2207;
inline constexpr uint32_t kRegOperArrayOid = 2208;
inline constexpr uint32_t kRegOperatorArrayOid = 2209;
inline constexpr uint32_t kRegClassArrayOid = 2210;
inline constexpr uint32_t kRegCollationArrayOid = 4192;
inline constexpr uint32_t kRegTypeArrayOid = 2211;
inline constexpr uint32_t kRegRoleArrayOid = 4097;
inline constexpr uint32_t kRegNamespaceArrayOid = 4090;
inline constexpr uint32_t kUuidArrayOid = 2951;
inline constexpr uint32_t kPgLsnArrayOid = 3221;
inline constexpr uint32_t kTsVectorArrayOid = 3643;
inline constexpr uint32_t kGtsVectorArrayOid = 3644;
inline constexpr uint32_t kTsQueryArrayOid = 3645;
inline constexpr uint32_t kRegConfigArrayOid = 3735;
inline constexpr uint32_t kRegDictionaryArrayOid = 3770;
inline constexpr uint32_t kJsonbArrayOid = 3807;
inline constexpr uint32_t kJsonPathArrayOid = 4073;
inline constexpr uint32_t kTxidSnapshotArrayOid = 2949;
inline constexpr uint32_t kPgSnapshotArrayOid = 5039;
inline constexpr uint32_t kInt4RangeArrayOid = 3905;
inline constexpr uint32_t kNumRangeArrayOid = 3907;
inline constexpr uint32_t kTsRangeArrayOid = 3909;
inline constexpr uint32_t kTstzRangeArrayOid = 3911;
inline constexpr uint32_t kDateRangeArrayOid = 3913;
inline constexpr uint32_t kInt8RangeArrayOid = 3927;
inline constexpr uint32_t kInt4MultirangeArrayOid = 6150;
inline constexpr uint32_t kNumMultirangeArrayOid = 6151;
inline constexpr uint32_t kTsMultirangeArrayOid = 6152;
inline constexpr uint32_t kTstzMultirangeArrayOid = 6153;
inline constexpr uint32_t kDateMultirangeArrayOid = 6155;
inline constexpr uint32_t kInt8MultirangeArrayOid = 6157;

/// The element type of a built-in array type, or 0 when `type_oid` is not one. Arrays of
/// user-defined types have OIDs assigned at CREATE TYPE time and are not known here.
constexpr uint32_t array_element_oid(uint32_t type_oid) {
  switch (type_oid) {
    case kBoolArrayOid:
      return kBoolOid;
    case kByteaArrayOid:
      return kByteaOid;
    case kCharArrayOid:
      return kCharOid;
    case kNameArrayOid:
      return kNameOid;
    case kInt8ArrayOid:
      return kInt8Oid;
    case kInt2ArrayOid:
      return kInt2Oid;
    case kInt2VectorArrayOid:
      return kInt2VectorOid;
    case kInt4ArrayOid:
      return kInt4Oid;
    case kRegProcArrayOid:
      return kRegProcOid;
    case kTextArrayOid:
      return kTextOid;
    case kOidArrayOid:
      return kOidOid;
    case kTidArrayOid:
      return kTidOid;
    case kXidArrayOid:
      return kXidOid;
    case kCidArrayOid:
      return kCidOid;
    case kOidVectorArrayOid:
      return kOidVectorOid;
    case kJsonArrayOid:
      return kJsonOid;
    case kXmlArrayOid:
      return kXmlOid;
    case kXid8ArrayOid:
      return kXid8Oid;
    case kPointArrayOid:
      return kPointOid;
    case kLsegArrayOid:
      return kLsegOid;
    case kPathArrayOid:
      return kPathOid;
    case kBoxArrayOid:
      return kBoxOid;
    case kPolygonArrayOid:
      return kPolygonOid;
    case kLineArrayOid:
      return kLineOid;
    case kFloat4ArrayOid:
      return kFloat4Oid;
    case kFloat8ArrayOid:
      return kFloat8Oid;
    case kCircleArrayOid:
      return kCircleOid;
    case kMoneyArrayOid:
      return kMoneyOid;
    case kMacaddrArrayOid:
      return kMacaddrOid;
    case kInetArrayOid:
      return kInetOid;
    case kCidrArrayOid:
      return kCidrOid;
    case kMacaddr8ArrayOid:
      return kMacaddr8Oid;
    case kAclitemArrayOid:
      return kAclitemOid;
    case kBpcharArrayOid:
      return kBpcharOid;
    case kVarcharArrayOid:
      return kVarcharOid;
    case kDateArrayOid:
      return kDateOid;
    case kTimeArrayOid:
      return kTimeOid;
    case kTimestampArrayOid:
      return kTimestampOid;
    case kTimestampTzArrayOid:
      return kTimestampTzOid;
    case kIntervalArrayOid:
      return kIntervalOid;
    case kTimeTzArrayOid:
      return kTimeTzOid;
    case kBitArrayOid:
      return kBitOid;
    case kVarbitArrayOid:
      return kVarbitOid;
    case kNumericArrayOid:
      return kNumericOid;
    case kRefcursorArrayOid:
      return kRefcursorOid;
    case kRegProcedureArrayOid:
      return kRegProcedureOid;
    case kRegOperArrayOid:
      return kRegOperOid;
    case kRegOperatorArrayOid:
      return kRegOperatorOid;
    case kRegClassArrayOid:
      return kRegClassOid;
    case kRegCollationArrayOid:
      return kRegCollationOid;
    case kRegTypeArrayOid:
      return kRegTypeOid;
    case kRegRoleArrayOid:
      return kRegRoleOid;
    case kRegNamespaceArrayOid:
      return kRegNamespaceOid;
    case kUuidArrayOid:
      return kUuidOid;
    case kPgLsnArrayOid:
      return kPgLsnOid;
    case kTsVectorArrayOid:
      return kTsVectorOid;
    case kGtsVectorArrayOid:
      return kGtsVectorOid;
    case kTsQueryArrayOid:
      return kTsQueryOid;
    case kRegConfigArrayOid:
      return kRegConfigOid;
    case kRegDictionaryArrayOid:
      return kRegDictionaryOid;
    case kJsonbArrayOid:
      return kJsonbOid;
    case kJsonPathArrayOid:
      return kJsonPathOid;
    case kTxidSnapshotArrayOid:
      return kTxidSnapshotOid;
    case kPgSnapshotArrayOid:
      return kPgSnapshotOid;
    case kInt4RangeArrayOid:
      return kInt4RangeOid;
    case kNumRangeArrayOid:
      return kNumRangeOid;
    case kTsRangeArrayOid:
      return kTsRangeOid;
    case kTstzRangeArrayOid:
      return kTstzRangeOid;
    case kDateRangeArrayOid:
      return kDateRangeOid;
    case kInt8RangeArrayOid:
      return kInt8RangeOid;
    case kInt4MultirangeArrayOid:
      return kInt4MultirangeOid;
    case kNumMultirangeArrayOid:
      return kNumMultirangeOid;
    case kTsMultirangeArrayOid:
      return kTsMultirangeOid;
    case kTstzMultirangeArrayOid:
      return kTstzMultirangeOid;
    case kDateMultirangeArrayOid:
      return kDateMultirangeOid;
    case kInt8MultirangeArrayOid:
      return kInt8MultirangeOid;
    default:
      return 0;
  }
}

/// The delimiter between elements in the array literal of `element_oid` (pg_type.typdelim):
/// ';' for box, whose own text form contains commas, ',' for every other built-in type.
constexpr char array_delimiter(uint32_t element_oid) {
  return element_oid == kBoxOid ? ';' : ',';
}

}  // namespace modsync::event::pg
