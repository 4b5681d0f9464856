/* Where a uprobe costs least. A probe on an instruction the kernel must
 * single-step out of line costs about 12 µs a hit here; one on an
 * instruction it emulates (a jump, a call, a push of a register, a nop)
 * about 0.7 µs. Function entries start with endbr64 or a compare, which
 * are stepped: the probe goes on the first emulated instruction instead,
 * provided every call reaches it (nothing before it branches) and the
 * arguments are still in their registers there. Capstone decodes. */
#include "placement.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <string.h>

/* rdi, rsi, rdx, rcx, r8, r9 and their parts, per argument. */
static const x86_reg arg_regs[6][5] = {
	{X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, 0},
	{X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, 0},
	{X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH},
	{X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH},
	{X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, 0},
	{X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, 0},
};

static bool writes_args(csh cs, const cs_insn *in, int nargs)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return true; /* cannot tell: assume it does */
	for (int i = 0; i < nwr; i++)
		for (int a = 0; a < nargs && a < 6; a++)
			for (int k = 0; k < 5; k++)
				if (arg_regs[a][k] && wr[i] == arg_regs[a][k])
					return true;
	return false;
}

/* What the kernel's x86 uprobe code emulates rather than steps. */
static bool emulated(csh cs, const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	/* the kernel refuses to emulate (and to probe) 0x66-prefixed
	 * branches: such an instruction ends the search */
	for (int i = 0; i < 4; i++)
		if (x->prefix[i] == 0x66)
			return false;

	if (cs_insn_group(cs, in, CS_GRP_JUMP) && x->op_count == 1 &&
	    x->operands[0].type == X86_OP_IMM)
		return true; /* jmp rel, jcc rel */
	if (in->id == X86_INS_CALL && x->op_count == 1 &&
	    x->operands[0].type == X86_OP_IMM)
		return true;
	if (in->id == X86_INS_PUSH && x->op_count == 1 &&
	    x->operands[0].type == X86_OP_REG && x->operands[0].size == 8)
		return true;
	return in->id == X86_INS_NOP && in->size == 1;
}

static bool branches(csh cs, const cs_insn *in)
{
	return cs_insn_group(cs, in, CS_GRP_JUMP) ||
	       cs_insn_group(cs, in, CS_GRP_CALL) ||
	       cs_insn_group(cs, in, CS_GRP_RET) ||
	       cs_insn_group(cs, in, CS_GRP_INT) ||
	       cs_insn_group(cs, in, CS_GRP_IRET);
}

int probe_place(const uint8_t *code, size_t len, int nargs,
		struct placement *out)
{
	csh cs;
	cs_insn *in = NULL;

	memset(out, 0, sizeof(*out));
	out->at_entry = true;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -1;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	size_t n = cs_disasm(cs, code, len, 0, 32, &in);
	snprintf(out->why, sizeof(out->why), "no instruction could be decoded");
	for (size_t i = 0; i < n; i++) {
		snprintf(out->insn, sizeof(out->insn), "%s %s", in[i].mnemonic,
			 in[i].op_str);
		if (emulated(cs, &in[i])) {
			out->offset = (uint32_t)in[i].address;
			out->at_entry = false;
			snprintf(out->why, sizeof(out->why),
				 "+%u: %s, which the kernel emulates",
				 out->offset, out->insn);
			break;
		}
		if (branches(cs, &in[i])) {
			snprintf(out->why, sizeof(out->why),
				 "+%u: %s may not be passed by every call",
				 (unsigned)in[i].address, out->insn);
			break;
		}
		if (writes_args(cs, &in[i], nargs)) {
			snprintf(out->why, sizeof(out->why),
				 "+%u: %s changes an argument register",
				 (unsigned)in[i].address, out->insn);
			break;
		}
		if (i + 1 == n)
			snprintf(out->why, sizeof(out->why), "nothing emulated "
				 "in the first %zu instructions", n);
	}
	if (out->at_entry)
		out->insn[0] = '\0';
	cs_free(in, n);
	cs_close(&cs);
	return 0;
}
